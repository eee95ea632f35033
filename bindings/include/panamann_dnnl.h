/* Headers jextract reads for the oneDNN 2.6 bindings of panama-nn. */
#include <dnnl.h>
#include <dnnl_debug.h>
