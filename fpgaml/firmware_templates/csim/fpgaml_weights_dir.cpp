// fpgaml C-simulation: the folder hls4ml's load_weights_from_txt reads (WEIGHTS_DIR, see fpgaml_weights_dir.h).
// Set by fpgaml at run time, before the first sample, so a compiled library never depends on where it
// was built or cached. Linked into the C-simulation library only (not part of the firmware).
#include <string>

static std::string fpgaml_weights_folder = "weights";

extern "C" {
const char *fpgaml_weights_dir() { return fpgaml_weights_folder.c_str(); }
void fpgaml_set_weights_dir(const char *dir) { fpgaml_weights_folder = dir; }
}
