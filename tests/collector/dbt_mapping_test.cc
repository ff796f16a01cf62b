// The pure mapping rules: dataset names, kinds, owners, column merging, stat metrics.

#include "dbt_mapping.h"

#include <gtest/gtest.h>

namespace tidemark::collector::dbt {
namespace {

using nlohmann::json;

TEST(StripRelationNameTest, RemovesEveryQuotingStyle) {
  EXPECT_EQ(StripRelationName("\"analytics\".\"marts\".\"orders\""), "analytics.marts.orders");
  EXPECT_EQ(StripRelationName("`my-project`.`ds`.`t`"), "my-project.ds.t");
  EXPECT_EQ(StripRelationName("[db].[dbo].[t]"), "db.dbo.t");
  EXPECT_EQ(StripRelationName("analytics.marts.orders"), "analytics.marts.orders");
  EXPECT_EQ(StripRelationName("\"a\"\"b\".\"c\""), "a\"b.c");
  EXPECT_EQ(StripRelationName(""), "");
  EXPECT_EQ(StripRelationName("\"unterminated"), "unterminated");
}

TEST(DatasetNameTest, FallsBackToDatabaseSchemaAlias) {
  Node n;
  n.resource_type = "model";
  n.name = "orders";
  n.database = "db";
  n.schema = "s";
  EXPECT_EQ(DatasetName(n), "db.s.orders");
  n.alias = "orders_v2";
  EXPECT_EQ(DatasetName(n), "db.s.orders_v2");
  n.database.clear();
  EXPECT_EQ(DatasetName(n), "s.orders_v2");
  n.relation_name = "\"x\".\"y\"";
  EXPECT_EQ(DatasetName(n), "x.y");
  Node src;
  src.resource_type = "source";
  src.name = "raw_orders";
  src.identifier = "orders";
  src.schema = "raw";
  EXPECT_EQ(DatasetName(src), "raw.orders");
}

TEST(AssetKindOfTest, FollowsResourceTypeAndMaterialization) {
  Node n;
  n.resource_type = "model";
  n.materialized = "view";
  EXPECT_EQ(AssetKindOf(n), model::AssetKind::kView);
  n.materialized = "materialized_view";
  EXPECT_EQ(AssetKindOf(n), model::AssetKind::kView);
  n.materialized = "incremental";
  EXPECT_EQ(AssetKindOf(n), model::AssetKind::kTable);
  n.materialized = "ephemeral";
  EXPECT_EQ(AssetKindOf(n), std::nullopt);
  for (const char* t : {"test", "operation", "macro", "unit_test", "sql_operation", "doc"}) {
    n.resource_type = t;
    EXPECT_EQ(AssetKindOf(n), std::nullopt) << t;
  }
  n.resource_type = "saved_query";
  EXPECT_EQ(AssetKindOf(n), model::AssetKind::kMetric);
}

TEST(OwnersFromMetaTest, AcceptsEveryShape) {
  auto ids = [](const std::vector<OwnerClaim>& claims) {
    std::vector<std::string> out;
    for (const auto& c : claims) out.push_back(c.owner.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", "Jane@Shop.com"}})), V{"user:jane@shop.com"});
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", "@jane"}})), V{"user:@jane"});
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", {"a@x.io", "Bob"}}})),
            (V{"user:a@x.io", "user:Bob"}));
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", {{"name", "Cy"}, {"email", "cy@x.io"}}}})),
            V{"user:cy@x.io"});
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", 42}})), V{});
  EXPECT_EQ(ids(OwnersFromMeta(json{{"owner", "  "}})), V{});
  EXPECT_EQ(ids(OwnersFromMeta(json())), V{});
  EXPECT_EQ(OwnersFromMeta(json{{"owner", {{"name", "Cy"}, {"email", "cy@x.io"}}}})[0].owner.name,
            "Cy");
}

TEST(GroupOwnerTest, IsATeamWithTheGroupsOwner) {
  Group g{"finance", "Money", PersonRef{"Fin", {"fin@x.io", "cfo@x.io"}}};
  OwnerClaim c = GroupOwner("finance", &g);
  EXPECT_EQ(c.owner.id, "team:finance");
  EXPECT_EQ(c.owner.kind, model::OwnerKind::kTeam);
  EXPECT_EQ(c.owner.email, "fin@x.io");
  EXPECT_EQ(c.role, "group");
  json p = json::parse(c.owner.properties);
  EXPECT_EQ(p["owner_name"], "Fin");
  EXPECT_EQ(p["owner_emails"].size(), 2u);
  EXPECT_EQ(GroupOwner("ops", nullptr).owner.properties, "");
}

TEST(MergeColumnsTest, ObservedOrderDeclaredWordsAndLeftovers) {
  std::vector<DeclaredColumn> declared(3);
  declared[0].name = "id";
  declared[0].description = "Key";
  declared[0].data_type = "int";
  declared[1].name = "gone";
  declared[2].name = "Amount";
  declared[2].tags = {"money"};
  std::vector<ObservedColumn> observed = {
      {"AMOUNT", "NUMBER", "cents", 1}, {"ID", "BIGINT", "", 2}, {"extra", "TEXT", "", 3}};
  std::vector<std::string> dups;
  auto cols = MergeColumns(declared, observed, &dups);
  ASSERT_EQ(cols.size(), 4u);
  EXPECT_EQ(cols[0].name, "AMOUNT");
  EXPECT_EQ(cols[0].description, "cents");
  EXPECT_EQ(cols[0].tags, std::vector<std::string>{"money"});
  EXPECT_EQ(cols[1].name, "ID");
  EXPECT_EQ(cols[1].data_type, "BIGINT");
  EXPECT_EQ(json::parse(cols[1].properties)["declared_type"], "int");
  EXPECT_EQ(json::parse(cols[2].properties)["declared"], false);
  EXPECT_EQ(cols[3].name, "gone");
  EXPECT_EQ(cols[3].position, 4);
  EXPECT_TRUE(dups.empty());

  // Round trip through what a store gives back.
  std::vector<DeclaredColumn> d2;
  std::vector<ObservedColumn> o2;
  SplitStoredColumns(cols, &d2, &o2);
  EXPECT_EQ(d2.size(), 3u);
  EXPECT_EQ(o2.size(), 3u);
  auto again = MergeColumns(d2, o2, nullptr);
  EXPECT_EQ(again, cols);
}

TEST(MergeColumnsTest, KeepsTheFirstOfTwoEqualNames) {
  std::vector<DeclaredColumn> declared(2);
  declared[0].name = "a";
  declared[1].name = "a";
  std::vector<std::string> dups;
  auto cols = MergeColumns(declared, {}, &dups);
  EXPECT_EQ(cols.size(), 1u);
  EXPECT_EQ(dups, std::vector<std::string>{"a"});
  EXPECT_EQ(cols[0].properties, "");  // nothing to say: no properties
}

TEST(StatMetricTest, NormalisesNamesAndValues) {
  EXPECT_EQ(StatMetric({"num_rows", 5, "", true})->metric, "row_count");
  EXPECT_EQ(StatMetric({"rows", 5, "", true})->metric, "row_count");
  EXPECT_EQ(StatMetric({"num_bytes", 5, "", true})->metric, "bytes");
  EXPECT_EQ(StatMetric({"Clustering_Depth", 2, "", true})->metric, "stat:Clustering_Depth");
  EXPECT_FALSE(StatMetric({"has_stats", std::nullopt, "", false}));
  EXPECT_FALSE(StatMetric({"num_rows", 5, "", false}));
  EXPECT_FALSE(StatMetric({"partitioning_type", std::nullopt, "DAY", true}));
  auto lm = StatMetric({"last_modified", std::nullopt, "2026-01-01 00:00:10UTC", true});
  ASSERT_TRUE(lm);
  EXPECT_EQ(lm->metric, "last_modified");
  EXPECT_DOUBLE_EQ(lm->value, 1767225610);
}

TEST(DigestTest, Md5MatchesDbtsProjectId) {
  EXPECT_EQ(Md5Hex("jaffle_shop"), "06e5b98c2db46f8a72cc4f66410e9b3b");
  EXPECT_EQ(DigestHex("abc").size(), 16u);
  EXPECT_EQ(DigestHex("abc"), DigestHex("abc"));
  EXPECT_NE(DigestHex("abc"), DigestHex("abd"));
}

}  // namespace
}  // namespace tidemark::collector::dbt
