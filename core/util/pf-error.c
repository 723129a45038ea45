#include "pf-error.h"

G_DEFINE_QUARK (pflow-error-quark, pf_error)
