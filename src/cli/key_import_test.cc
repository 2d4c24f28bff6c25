// `keyward import`'s file reading: CSV records (RFC 4180 quoting, line
// breaks inside quotes, a byte order mark), column mapping and defaults, the
// line each record starts on, and JSON lines.
#include "cli/key_import.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace keyward {
namespace {

class ImportReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::vector<ImportRecord> ReadAll(const ImportOptions& o) {
    auto r = ImportReader::Open(o);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<ImportRecord> out;
    if (!r.ok()) return out;
    for (ImportRecord rec; r->Next(&rec);) out.push_back(rec);
    return out;
  }
  keyward::testing::TempDir dir_;
};

TEST_F(ImportReaderTest, CsvColumnsMapToFieldsAndRecordsKeepTheirLineNumbers) {
  ImportOptions o;
  o.file =
      Write("keys.csv",
            "\xEF\xBB\xBF"
            "customer,key_sha256,label,scopes,meta,disabled,extra,endpoint_allowlist\r\n"
            "ws_1,ab12,\"plain\",a:read b:write,,false,x,\r\n"
            "\r\n"
            "ws_2,cd34,\"two\nlines, and \"\"quotes\"\"\",,\"{\"\"tier\"\": \"\"pro\"\"}\",1,y,"
            "\"GET,POST /v1/orders/*; DELETE /v1/orders/{id}\"\n"
            "ws_3,ef56,bad meta,,[1],,z,\n"
            "ws_4,0000,short\n"
            ",9999,defaults,,,,,\n");
  o.columns = {{"workspace_id", "customer"}, {"hash", "key_sha256"}, {"name", "label"}};
  o.environment = "live";
  o.workspace_id = "ws_default";
  const auto recs = ReadAll(o);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].line, 2u);
  ASSERT_TRUE(recs[0].row);
  EXPECT_EQ((*recs[0].row)["workspace_id"], "ws_1");
  EXPECT_EQ((*recs[0].row)["environment"], "live");
  EXPECT_EQ((*recs[0].row)["hash"]["value"], "ab12");
  EXPECT_EQ((*recs[0].row)["hash"]["encoding"], "hex");
  EXPECT_EQ((*recs[0].row)["scopes"], nlohmann::json::array({"a:read", "b:write"}));
  EXPECT_EQ((*recs[0].row)["disabled"], false);
  EXPECT_FALSE(recs[0].row->contains("meta"));  // an empty cell is absent
  // After a blank line; the record spans two lines and starts on line 4.
  EXPECT_EQ(recs[1].line, 4u);
  ASSERT_TRUE(recs[1].row);
  EXPECT_EQ((*recs[1].row)["name"], "two\nlines, and \"quotes\"");
  EXPECT_EQ((*recs[1].row)["meta"]["tier"], "pro");
  EXPECT_EQ((*recs[1].row)["disabled"], true);
  // Endpoint patterns hold spaces and commas: entries are apart by semicolons.
  EXPECT_EQ((*recs[1].row)["endpoint_allowlist"],
            nlohmann::json::array({"GET,POST /v1/orders/*", "DELETE /v1/orders/{id}"}));
  EXPECT_EQ(recs[2].line, 6u);
  EXPECT_FALSE(recs[2].row);
  EXPECT_EQ(recs[2].error, "invalid_row");
  EXPECT_NE(recs[2].message.find("meta"), std::string::npos);
  EXPECT_EQ(recs[3].line, 7u);
  EXPECT_FALSE(recs[3].row);  // too few columns
  EXPECT_EQ(recs[4].line, 8u);
  ASSERT_TRUE(recs[4].row);
  EXPECT_EQ((*recs[4].row)["workspace_id"], "ws_default");
}

TEST_F(ImportReaderTest, AMappedColumnThatIsNotThereOrNoKeyColumnIsAnError) {
  ImportOptions o;
  o.file = Write("keys.csv", "a,b\n1,2\n");
  auto r = ImportReader::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--map hash=COLUMN"), std::string::npos);
  o.columns = {{"hash", "sha"}};
  r = ImportReader::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no column \"sha\""), std::string::npos);
  o.columns = {{"colour", "a"}};
  r = ImportReader::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a field"), std::string::npos);
  o.file = Write("keys.txt", "x");
  o.columns.clear();
  r = ImportReader::Open(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--format"), std::string::npos);
}

TEST_F(ImportReaderTest, JsonLinesAreRowsAndPlaintextIsNoticed) {
  ImportOptions o;
  o.file = Write("keys.jsonl",
                 "{\"workspace_id\":\"ws_1\",\"hash\":{\"algorithm\":\"sha256\"}}\n"
                 "\n"
                 "not json\n"
                 "{\"key\":\"amsr_live_x\"}\n");
  o.environment = "test";
  auto r = ImportReader::Open(o);
  ASSERT_TRUE(r.ok());
  ImportRecord rec;
  ASSERT_TRUE(r->Next(&rec));
  EXPECT_EQ(rec.line, 1u);
  EXPECT_EQ((*rec.row)["environment"], "test");
  EXPECT_FALSE(r->saw_plaintext());
  ASSERT_TRUE(r->Next(&rec));
  EXPECT_EQ(rec.line, 3u);
  EXPECT_FALSE(rec.row);
  ASSERT_TRUE(r->Next(&rec));
  EXPECT_EQ(rec.line, 4u);
  EXPECT_TRUE(r->saw_plaintext());
  EXPECT_FALSE(r->Next(&rec));
}

}  // namespace
}  // namespace keyward
