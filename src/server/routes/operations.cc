// Operations: /healthz, /readyz (asks the store), /metrics (Prometheus
// text) and /openapi.json, for anyone.
// Thread-safe: handlers run on any serving thread at once.
#include "server/routes/routes.h"

#include "core/key_cache.h"
#include "server/api.h"

namespace keyward {
namespace {

std::string RenderCacheMetrics(const KeyCacheStats& s) {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    AppendMetric(&out, name, "counter", help, v);
  };
  auto gauge = [&out](const char* name, const char* help, uint64_t v) {
    AppendMetric(&out, name, "gauge", help, v);
  };
  counter("keyward_key_cache_hits_total", "Verifications answered from the key cache.", s.hits);
  counter("keyward_key_cache_negative_hits_total",
          "Unknown keys answered from the cache's negative entries.", s.negative_hits);
  counter("keyward_key_cache_misses_total", "Key lookups that went to storage.", s.misses);
  counter("keyward_key_cache_evictions_total", "Entries evicted to stay within cache.max_keys.",
          s.evictions);
  counter("keyward_key_cache_invalidations_total", "Entries dropped because their key changed.",
          s.invalidations);
  gauge("keyward_key_cache_entries", "Keys held in the cache.", s.entries);
  gauge("keyward_key_cache_negative_entries", "Unknown key hashes held in the cache.",
        s.negative_entries);
  return out;
}

void Health(Call& call, const RouteContext&) { call.SendJson(200, {{"status", "ok"}}); }

void Ready(Call& call, const RouteContext& ctx) {
  if (ctx.api->stopping()) return call.Error(Code::kUnavailable, "keyward is stopping");
  // Named for a person (storage_full, a read-only directory, ...); the
  // details, which may name hosts and paths, are in the log.
  if (ctx.options->ready) {
    if (Status s = ctx.options->ready(); !s.ok()) return call.Fail(s);
  }
  call.SendJson(200, {{"status", "ready"}});
}

void MetricsPage(Call& call, const RouteContext& ctx) {
  call.reply.response.status = 200;
  call.reply.response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  call.reply.response.body = ctx.api->metrics().Render();
  if (ctx.options->cache != nullptr)
    call.reply.response.body += RenderCacheMetrics(ctx.options->cache->Stats());
  if (ctx.options->extra_metrics) call.reply.response.body += ctx.options->extra_metrics();
}

void OpenApi(Call& call, const RouteContext&) {
  call.Send(200, std::string(Api::OpenApiDocument()));
}

}  // namespace

void RegisterOperationsRoutes(RouteTable& table) {
  table.Add({"GET", "/healthz", "getHealth", Access::kPublic, Health});
  table.Add({"GET", "/readyz", "getReadiness", Access::kPublic, Ready});
  table.Add({"GET", "/metrics", "getMetrics", Access::kPublic, MetricsPage});
  table.Add({"GET", "/openapi.json", "getOpenApiDocument", Access::kPublic, OpenApi});
}

}  // namespace keyward
