#include "server/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "testing/temp_dir.h"

namespace keyward {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteConfig(const std::string& text) {
    const std::string path = dir_.File("keyward.toml");
    std::ofstream(path) << text;
    return path;
  }
  EnvLookup Env() {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  keyward::testing::TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, TrustedProxiesAreLoopbackUnlessSet) {
  auto c = LoadConfig({}, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->trusted_proxies, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  ConfigFlags flags;
  flags.config_file = WriteConfig("trusted_proxies = [\"10.0.0.0/8\", \"2001:db8::/32\"]");
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
  env_["KEYWARD_TRUSTED_PROXIES"] = "192.168.0.0/16, 127.0.0.1";
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->trusted_proxies, (std::vector<std::string>{"192.168.0.0/16", "127.0.0.1"}));
  env_["KEYWARD_TRUSTED_PROXIES"] = "garbage";
  c = LoadConfig(flags, Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("trusted_proxies"), std::string::npos);
}

TEST_F(ConfigTest, PortalSettingsAreReadAndChecked) {
  auto c = LoadConfig({}, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->EffectivePublicUrl(), "http://127.0.0.1:8080");
  EXPECT_TRUE(c->portal_frame_ancestors.empty());
  EXPECT_EQ(c->portal_code_ttl_seconds, 900);
  EXPECT_EQ(c->portal_session_ttl_seconds, 86400);
  ConfigFlags flags;
  flags.config_file = WriteConfig(
      "public_url = \"https://keys.example.com/\"\n[portal]\nproduct_name = \"Acme API\"\n"
      "logo_url = \"/logo.svg\"\naccent_color = \"#4F46e5\"\nsupport_url = "
      "\"mailto:help@acme.example\"\nframe_ancestors = [\"https://app.acme.example\"]\n"
      "code_ttl_seconds = 60\nsession_ttl_seconds = 3600\n");
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->EffectivePublicUrl(), "https://keys.example.com");
  EXPECT_EQ(c->portal_product_name, "Acme API");
  EXPECT_EQ(c->portal_frame_ancestors, (std::vector<std::string>{"https://app.acme.example"}));
  EXPECT_EQ(c->portal_session_ttl_seconds, 3600);
  env_["KEYWARD_PUBLIC_URL"] = "http://localhost:9000";
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->EffectivePublicUrl(), "http://localhost:9000");
  env_.clear();
  // Each bad value is refused, naming its key.
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"public_url = \"ftp://keys.example.com\"", "public_url"},
           {"public_url = \"https://keys.example.com/keys\"", "public_url"},
           {"public_url = \"https://user@keys.example.com\"", "public_url"},
           {"[portal]\naccent_color = \"red\"", "portal.accent_color"},
           {"[portal]\nlogo_url = \"javascript:alert(1)\"", "portal.logo_url"},
           {"[portal]\nlogo_url = \"//evil.example/x.png\"", "portal.logo_url"},
           {"[portal]\nframe_ancestors = [\"*\"]", "portal.frame_ancestors"},
           {"[portal]\nframe_ancestors = [\"https://a.example; script-src *\"]",
            "portal.frame_ancestors"},
           {"[portal]\nsession_ttl_seconds = 0", "portal.session_ttl_seconds"},
           {"[portal]\ncode_ttl_seconds = 9999999", "portal.code_ttl_seconds"},
           {"[portal]\nproduct_name = \"\"", "portal.product_name"},
           {"[portal]\ncolour = \"#000000\"", "portal.colour"},
       }) {
    flags.config_file = WriteConfig(text);
    auto bad = LoadConfig(flags, Env());
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(key), std::string::npos) << bad.status().message();
  }
}

TEST_F(ConfigTest, PlansAreReadWithTheirCostsAndTheDefaultMustExist) {
  auto c = ParseConfigText(R"(
[plans]
default = "free"
[plans.free]
name = "Free"
monthly_credits = 1000
max_active_keys = 2
rate_limit = 5
rate_period_seconds = 1
[plans.pro]
monthly_credits = 250000
costs = { "GET /v1/amazon/search" = 5, "GET /v1/amazon/product/*" = 1 }
)",
                           "keyward.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->plans.size(), 2u);
  EXPECT_EQ(c->DefaultPlanId(), "plan_free");
  const Plan& free = c->plans[0].id == "plan_free" ? c->plans[0] : c->plans[1];
  const Plan& pro = c->plans[0].id == "plan_pro" ? c->plans[0] : c->plans[1];
  EXPECT_EQ(free.name, "Free");
  EXPECT_EQ(free.monthly_credits, 1000);
  EXPECT_EQ(free.max_active_keys, 2);
  EXPECT_EQ(free.rate_limit, (RateLimit{5, 1}));
  EXPECT_EQ(pro.name, "pro");  // the table's name when none is given
  ASSERT_EQ(pro.cost_rules.size(), 2u);
  EXPECT_TRUE(c->plans.size() == 2 && (pro.cost_rules[0].cost == 5 || pro.cost_rules[1].cost == 5));

  for (const auto& [text, names] : std::vector<std::pair<std::string, std::string>>{
           {"[plans]\ndefault = \"gold\"\n", "plans.default"},
           {"[plans.free]\nmonthly_credits = -5\n", "plans.free"},
           {"[plans.free]\ncolor = 1\n", "plans.free.color"},
           {"[plans.Free]\nname = \"x\"\n", "plans.Free"},
           {"[plans.free]\ncosts = { \"GET /v1/[\" = 5 }\n", "plans.free"},
           {"[plans.free]\ncosts = { \"GET /v1/a\" = \"five\" }\n", "plans.free.costs"},
           {"[plans.free]\nrate_period_seconds = 5\n", "rate_period_seconds"},
           {"plans = 3\n", "plans"}}) {
    auto bad = ParseConfigText(text, "keyward.toml");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(names), std::string::npos)
        << text << " -> " << bad.status().message();
  }
}

TEST_F(ConfigTest, DefaultsWithNoFile) {
  auto c = LoadConfig({}, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:8080");
  EXPECT_EQ(c->threads, 2);
  EXPECT_EQ(c->data_dir, "./data");
  EXPECT_EQ(c->product_prefix, "kw");
  EXPECT_EQ(c->environments, (std::vector<std::string>{"live", "test"}));
  EXPECT_EQ(c->accept_environments, c->environments);
  EXPECT_EQ(c->max_active_per_workspace, 20);
}

TEST_F(ConfigTest, FileThenFlagsThenEnvironment) {
  ConfigFlags flags;
  flags.config_file = WriteConfig(R"(
listen = "127.0.0.1:9000"
threads = 4
data_dir = "/var/lib/keyward"
[keys]
product_prefix = "amsr"
environments = ["live", "test"]
accept_environments = ["test"]
max_active_per_workspace = 5
)");
  auto c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:9000");
  EXPECT_EQ(c->product_prefix, "amsr");
  EXPECT_EQ(c->accept_environments, std::vector<std::string>{"test"});
  EXPECT_EQ(c->max_active_per_workspace, 5);

  flags.threads = 8;
  flags.listen = "127.0.0.1:9001";
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->threads, 8);
  EXPECT_EQ(c->listen, "127.0.0.1:9001");

  env_["KEYWARD_THREADS"] = "3";
  env_["KEYWARD_KEYS_ACCEPT_ENVIRONMENTS"] = "live, test";
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->threads, 3);
  EXPECT_EQ(c->accept_environments, (std::vector<std::string>{"live", "test"}));
}

TEST_F(ConfigTest, KeyLifetimePoliciesAreUnsetUnlessGivenAndOneToTenYears) {
  auto c = LoadConfig({}, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rotate_after_days, std::nullopt);
  EXPECT_EQ(c->max_key_lifetime_days, std::nullopt);
  ConfigFlags flags;
  flags.config_file = WriteConfig("[keys]\nrotate_after_days = 90\nmax_key_lifetime_days = 365\n");
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rotate_after_days, 90);
  EXPECT_EQ(c->max_key_lifetime_days, 365);
  env_["KEYWARD_KEYS_ROTATE_AFTER_DAYS"] = "30";
  env_["KEYWARD_KEYS_MAX_KEY_LIFETIME_DAYS"] = "3650";
  c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rotate_after_days, 30);
  EXPECT_EQ(c->max_key_lifetime_days, 3650);
  env_["KEYWARD_KEYS_MAX_KEY_LIFETIME_DAYS"] = "3651";
  c = LoadConfig(flags, Env());
  EXPECT_EQ(c.status().code(), Code::kInvalidRequest);
  EXPECT_NE(c.status().message().find("keys.max_key_lifetime_days"), std::string::npos);
  env_.clear();
  for (const char* bad :
       {"rotate_after_days = 0", "rotate_after_days = \"90\"", "max_key_lifetime_days = -1"}) {
    auto r = ParseConfigText(std::string("[keys]\n") + bad, "t.toml");
    EXPECT_EQ(r.status().code(), Code::kInvalidRequest) << bad;
  }
}

TEST_F(ConfigTest, LegacyKeyFormatsAsTheREADMEWritesThem) {
  ConfigFlags flags;
  flags.config_file = WriteConfig(R"(
[keys]
product_prefix = "amsr"

[[keys.legacy]]
pattern = "^amsr_(live|test)_[A-Za-z0-9]{21}$"  # anchored regular expression
environment = "$1"                               # a fixed name, or $N for a capture group
short_prefix_length = 12                         # characters after the prefix shown in lists

[[keys.legacy]]
pattern = "^[a-f0-9]{32}$"
environment = "live"
)");
  auto c = LoadConfig(flags, Env());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->legacy_formats.size(), 2u);
  EXPECT_EQ(c->legacy_formats[0].pattern, "^amsr_(live|test)_[A-Za-z0-9]{21}$");
  EXPECT_EQ(c->legacy_formats[0].environment, "$1");
  EXPECT_EQ(c->legacy_formats[0].short_prefix_length, 12);
  EXPECT_EQ(c->legacy_formats[1].short_prefix_length, 8);  // the default

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"[[keys.legacy]]\npattern = \"amsr_[a-z]{21}\"\nenvironment = \"live\"\n", "anchored"},
      {"[[keys.legacy]]\npattern = \"^amsr_[a-z]{21}$\"\n", "needs a pattern"},
      {"[[keys.legacy]]\npattern = \"^amsr_[a-z]{21}$\"\nenvironment = \"prod\"\n",
       "keys.environments"},
      {"[[keys.legacy]]\npattern = \"^amsr_([a-z)$\"\nenvironment = \"$1\"\n", "does not compile"},
      {"[[keys.legacy]]\npattern = \"^a{21}$\"\nenvironment = \"live\"\nprefix = 3\n",
       "keys.legacy[0].prefix"},
      {"[keys]\nlegacy = \"^a$\"\n", "array of tables"},
  };
  for (const auto& [text, expected] : bad) {
    flags.config_file = WriteConfig(text);
    auto r = LoadConfig(flags, Env());
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(expected), std::string::npos)
        << text << " -> " << r.status().message();
  }
}

TEST_F(ConfigTest, UnknownKeysAreNamed) {
  ConfigFlags flags;
  flags.config_file = WriteConfig("listen = \"127.0.0.1:1\"\nthreds = 2\n");
  auto c = LoadConfig(flags, Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("\"threds\""), std::string::npos);
  flags.config_file = WriteConfig("[keys]\nprefix = \"sk\"\n");
  c = LoadConfig(flags, Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("\"keys.prefix\""), std::string::npos);
}

TEST_F(ConfigTest, BadValuesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"threads = \"many\"", "threads"},
      {"threads = 0", "threads"},
      {"listen = \"localhost\"", "listen"},
      {"listen = \"127.0.0.1:99999\"", "listen"},
      {"[keys]\nproduct_prefix = \"S K\"", "keys.product_prefix"},
      {"[keys]\nenvironments = []", "keys.environments"},
      {"[keys]\naccept_environments = [\"prod\"]", "accept_environments"},
      {"[keys]\nmax_active_per_workspace = 0", "max_active_per_workspace"},
      {"[keys]\nenvironments = [\"live\", \"root\"]", "root"},
      {"database = \"mysql://x\"", "database"},
      {"database_pool_size = 0", "database_pool_size"},
      {"redis = \"http://x\"", "redis"},
      {"redis_failure_mode = \"maybe\"", "redis_failure_mode"},
      {"usage_retention_days = 0", "usage_retention_days"},
      {"[limits]\nrate_limit = -1", "limits.rate_limit"},
      {"[limits]\nrate_period_seconds = 0", "limits.rate_period_seconds"},
      {"[limits]\nfailed_verifications_per_ip = \"many\"", "limits.failed_verifications_per_ip"},
      {"[limits]\nburst = 5", "limits.burst"},
      {"[cache]\nmax_keys = 1", "cache.max_keys"},
      {"[storage]\nreserve_bytes = -1", "storage.reserve_bytes"},
      {"[storage]\nballast = 1", "storage.ballast"},
      {"usage_buffer_rows = 10", "usage_buffer_rows"},
      {"this is not toml", "keyward.toml"},
      {"trusted_proxies = [\"nginx\"]", "trusted_proxies"},
      {"trusted_proxies = [\"10.0.0.1/8\"]", "trusted_proxies"},
      {"trusted_proxies = \"10.0.0.0/8\"", "trusted_proxies"},
  };
  for (const auto& [text, needle] : cases) {
    ConfigFlags flags;
    flags.config_file = WriteConfig(text);
    auto c = LoadConfig(flags, Env());
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(needle), std::string::npos) << c.status().message();
  }
  env_["KEYWARD_THREADS"] = "lots";
  auto c = LoadConfig({}, Env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("KEYWARD_THREADS"), std::string::npos);
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  ConfigFlags flags;
  flags.config_file = dir_.File("nope.toml");
  auto missing = LoadConfig(flags, Env());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.toml"), std::string::npos);
}

// Found in review: reading a directory threw out of LoadConfig and aborted
// `keyward serve --config /etc/keyward/`.
TEST_F(ConfigTest, DirectoryIsAnErrorNotACrash) {
  ConfigFlags flags;
  flags.config_file = dir_.path().string();
  auto r = LoadConfig(flags, Env());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace keyward
