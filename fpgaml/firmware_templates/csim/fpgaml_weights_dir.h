// fpgaml C-simulation: hls4ml's load_weights_from_txt reads WEIGHTS_DIR "/" name. fpgaml's compiled
// libraries are cached and may be moved, so the folder is not compiled in: the harness sets it at run
// time (fpgaml_set_weights_dir, defined in fpgaml_weights_dir.cpp) before the first sample runs.
// Force-included (g++ -include) into every translation unit of the C-simulation library only.
#ifndef FPGAML_WEIGHTS_DIR_H_
#define FPGAML_WEIGHTS_DIR_H_

extern "C" const char *fpgaml_weights_dir();
#define WEIGHTS_DIR fpgaml_weights_dir()

#endif
