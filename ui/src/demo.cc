#include "demo.h"

#include <spdlog/spdlog.h>

#include "tidemark/model/clock.h"
#include "tidemark/pipeline/demo_data.h"

namespace tidemark::ui {

model::Status LoadDemoData(catalog::Store& store) {
  TM_ASSIGN_OR_RETURN(pipeline::DemoLoadReport report,
                      pipeline::LoadDemoData(store, model::SystemClock().Now()));
  if (report.stale) {
    spdlog::warn("this store holds the demo as of {}; its history does not move with the clock "
                 "once loaded: remove the store (or pass --db with a new one) to see it current",
                 model::FormatTimestamp(report.anchor));
    return model::Status::Ok();
  }
  spdlog::info("demo data loaded: {} dbt ingests ({} unchanged), {} metric points written, "
               "{} already stored, in {:.0f} ms",
               report.dbt_ingests, report.dbt_unchanged, report.points_written,
               report.points_skipped, report.elapsed_ms);
  return model::Status::Ok();
}

}  // namespace tidemark::ui
