#!/usr/bin/env python3
"""Writes keyward(1) from the binary's own --help texts, so that the page
says what the binary does and cannot drift from it: the top-level help,
then every command's and subcommand's help verbatim, then the files,
environment and exit codes of the packaged install.

    deploy/debian/manpage.py BINARY VERSION DATE > keyward.1
"""
import re
import subprocess
import sys


def run_help(binary, words):
    out = subprocess.run([binary, *words, "--help"], capture_output=True, text=True, check=True)
    return out.stdout.rstrip("\n")


def subcommands(help_text):
    """The names listed under "Subcommands:" (continuation lines are indented deeper)."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
        elif inside:
            m = re.match(r"^  (\S+)(\s{2,}|$)", line)
            if m:
                names.append(m.group(1))
            elif line and not line.startswith(" "):
                inside = False
    return names


def roff_text(text):
    """Text that roff prints as it is: backslashes, leading dots and quotes
    escaped, anything outside ASCII as a \\[uXXXX] glyph."""
    lines = []
    for line in text.split("\n"):
        line = line.replace("\\", "\\e").replace("-", "\\-")
        line = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in line)
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def verbatim(text):
    return ".nf\n" + roff_text(text) + "\n.fi"


def main():
    binary, version, date = sys.argv[1:4]
    top = run_help(binary, [])
    out = [
        '.TH KEYWARD 1 "%s" "keyward %s" "User Commands"' % (date, version),
        ".SH NAME",
        "keyward \\- issue, verify, rotate and revoke API keys",
        ".SH SYNOPSIS",
        ".B keyward",
        ".I command",
        "[\\fIoptions\\fR]",
        ".br",
        ".B keyward \\-\\-version",
        ".SH DESCRIPTION",
        "keyward is a self\\-hostable API\\-key service. "
        "\\fBkeyward serve\\fR runs the HTTP server; "
        "\\fBkeyward root\\-keys\\fR works on the database directly, offline; "
        "the other commands talk to a running keyward over HTTP.",
        ".PP",
        verbatim(top),
        ".SH COMMANDS",
    ]

    def add(words):
        text = run_help(binary, words)
        out.append('.SS "keyward %s"' % " ".join(words).replace("-", "\\-"))
        out.append(verbatim(text))
        for sub in subcommands(text):
            add(words + [sub])

    for sub in subcommands(top):
        add([sub])

    out += [
        ".SH FILES",
        ".TP",
        ".I /etc/keyward/keyward.toml",
        "The configuration of the keyward service (every option, commented).",
        ".TP",
        ".I /var/lib/keyward",
        "The service's state: the SQLite database \\fIkeyward.db\\fR and the disk reserve "
        "\\fIkeyward.reserve\\fR. Owned by the \\fBkeyward\\fR system user, mode 0700.",
        ".TP",
        ".I /lib/systemd/system/keyward.service",
        "The systemd unit: \\fBsystemctl enable \\-\\-now keyward\\fR, "
        "\\fBjournalctl \\-u keyward\\fR.",
        ".SH ENVIRONMENT",
        ".TP",
        ".B KEYWARD_URL",
        "The keyward the HTTP commands talk to (default http://127.0.0.1:8080).",
        ".TP",
        ".B KEYWARD_ROOT_KEY",
        "The root key (kw_root_...) the HTTP commands present.",
        ".TP",
        ".B KEYWARD_CONFIG",
        "The configuration file, as \\fB\\-\\-config\\fR.",
        ".PP",
        "Every configuration key has a variable of its own too (\\fBKEYWARD_LISTEN\\fR, "
        "\\fBKEYWARD_DATA_DIR\\fR, \\fBKEYWARD_DATABASE\\fR, ...): the configuration file, "
        "then flags, then the environment, each winning over the one before.",
        ".SH EXIT STATUS",
        "0 done; 1 the server refused the request (4xx); 2 bad usage or configuration; "
        "3 keyward could not be reached or failed (5xx, a broken transfer); "
        "4 the credential was refused (401/403). \\fBkeyward scan\\fR answers 1 for "
        '"found".',
        ".SH SEE ALSO",
        ".BR systemctl (1),",
        ".BR journalctl (1)",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
