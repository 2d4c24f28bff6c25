#!/usr/bin/env python3
"""Writes keyward's bash completion from the binary's own --help texts, as
manpage.py writes its man page: every command's subcommands and options,
which options take a value, and the values of those that list theirs
(--format TEXT:{csv,json}). A value without a list completes as a file
name (bash's default).

    deploy/debian/completion.py BINARY > keyward.bash
"""
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from manpage import run_help, subcommands  # noqa: E402

# "  -c,--config TEXT   ...", "  --format TEXT:{csv,json}  ...", "  --json  ..."
OPTION = re.compile(r"^  (-[^\s,]+(?:,-[^\s,]+)*)(?: ([A-Z][A-Z0-9_]*)(?::\{([^}]*)\})?)?(?:\s|$)")


def options(help_text):
    """[(names, takes_value, choices)] under "Options:"."""
    found, inside = [], False
    for line in help_text.splitlines():
        if line.startswith("Options:"):
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        elif inside:
            m = OPTION.match(line)
            if m:
                found.append((m.group(1).split(","), m.group(2) is not None,
                              m.group(3).split(",") if m.group(3) else []))
    return found


def quote(words):
    return "'" + " ".join(words).replace("'", "") + "'"


def main():
    binary = sys.argv[1]
    subs, opts, values, choices = {}, {}, {}, {}

    def walk(words):
        text = run_help(binary, words)
        path = " ".join(["keyward", *words])
        names = subcommands(text)
        subs[path] = names
        opts[path], values[path] = [], []
        for option_names, takes_value, option_choices in options(text):
            opts[path] += option_names
            if takes_value:
                values[path] += option_names
            for n in option_names:
                if option_choices:
                    choices[path + "|" + n] = option_choices
        for name in names:
            walk(words + [name])

    walk([])
    out = [
        "# bash completion for keyward, generated from its --help texts by",
        "# deploy/debian/completion.py. Commands, subcommands, options, and the",
        "# values of options that list them; other values complete as file names.",
        "declare -gA _keyward_subcommands=(",
        *("  [%s]=%s" % (quote([p]), quote(v)) for p, v in subs.items()),
        ")",
        "declare -gA _keyward_options=(",
        *("  [%s]=%s" % (quote([p]), quote(v)) for p, v in opts.items()),
        ")",
        "declare -gA _keyward_values=(",
        *("  [%s]=%s" % (quote([p]), quote(v)) for p, v in values.items()),
        ")",
        "declare -gA _keyward_choices=(",
        *("  [%s]=%s" % (quote([p]), quote(v)) for p, v in choices.items()),
        ")",
        r"""
_keyward() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local path=keyward word i
  COMPREPLY=()
  # The command path so far; an option's value is not a command.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ " ${_keyward_values[$path]} " == *" $word "* ]]; then
      ((i++))
    elif [[ $word != -* && " ${_keyward_subcommands[$path]} " == *" $word "* ]]; then
      path="$path $word"
    fi
  done
  if [[ " ${_keyward_values[$path]} " == *" $prev "* ]]; then
    local choices=${_keyward_choices["$path|$prev"]}
    [[ -n $choices ]] && mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
    return 0
  fi
  if [[ $cur == -* || -z ${_keyward_subcommands[$path]} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_keyward_options[$path]}" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "${_keyward_subcommands[$path]}" -- "$cur")
  fi
  return 0
}
complete -o default -F _keyward keyward""",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
