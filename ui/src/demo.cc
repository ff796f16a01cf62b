#include "demo.h"

namespace tidemark::ui {

model::Status LoadDemoData(catalog::Store& /*store*/) { return model::Status::Ok(); }

}  // namespace tidemark::ui
