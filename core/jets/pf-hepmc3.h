/* pf-hepmc3.h — a HepMC3 ASCII (Asciiv3) event reader written in C, and a small writer.
 *
 * The reader keeps what jet studies need: per event (E line) the final-state particles
 * (P lines with status 1) as four-momenta in GeV, whatever the momentum unit of the U line
 * (GEV or MEV; the length unit MM or CM is checked and ignored, vertices are not used).
 * V, W, A, T, N and C records are accepted and skipped. The file is untrusted: every line is
 * bounded (PF_HEPMC3_MAX_LINE), every event (PF_HEPMC3_MAX_PARTICLES), numbers must parse
 * completely and be finite, particle ids must run 1, 2, ... and match the E line's count;
 * any violation is a PF_ERROR_FORMAT whose message names the file and the line number.
 * HepMC2 (IO_GenEvent) files are recognised and refused with a message saying so. */
#pragma once
#include <glib.h>
#include "pf-particles.h"

G_BEGIN_DECLS

#define PF_HEPMC3_MAX_LINE (1 << 20)
#define PF_HEPMC3_MAX_PARTICLES (1 << 22)

typedef struct _PfHepmc3Reader PfHepmc3Reader;

PfHepmc3Reader *pf_hepmc3_reader_open (const char *path, GError **error);
/* Reads from memory (data need not be NUL-terminated and must outlive the reader); `name`
 * is used in messages. */
PfHepmc3Reader *pf_hepmc3_reader_new_from_data (const char *data, gsize len, const char *name);
void pf_hepmc3_reader_free (PfHepmc3Reader *r);

/* The next event: its final-state particles replace the content of `out` and its number goes
 * to *event_number (may be NULL). Returns TRUE with an event; FALSE at the end of the file
 * (error not set) or on an error (error set, the reader stays at the error). */
gboolean pf_hepmc3_reader_next (PfHepmc3Reader *r, PfParticleList *out, gint64 *event_number,
                                GError **error);

/* Writes n_events events (event i numbered i, particles as final-state status-1 P lines after
 * two status-4 beam protons and one vertex) to `path`, atomically (temporary file renamed).
 * mev: write momenta in MeV with "U MEV MM" instead of GeV. */
gboolean pf_hepmc3_write (const char *path, const PfParticleList *events, int n_events,
                          gboolean mev, GError **error);

G_END_DECLS
