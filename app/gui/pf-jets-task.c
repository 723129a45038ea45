/* pf-jets-task.c — see pf-jets-task.h. */
#include <glib/gi18n.h>
#include <math.h>
#include "pf-jets-task.h"
#include "pf-calo-view.h"
#include "pf-pixels.h"

typedef struct {
  int S;
  float *truth, *pred;
  GArray *truth_jets, *pred_jets;
} JetsJob;

static void
jets_job_free (gpointer data)
{
  JetsJob *job = data;
  g_free (job->truth);
  g_free (job->pred);
  if (job->truth_jets)
    g_array_unref (job->truth_jets);
  if (job->pred_jets)
    g_array_unref (job->pred_jets);
  g_free (job);
}

static PfJetList *
cluster_image (const float *img, int S, double *xyze, GError **error)
{
  PfPixelParams pp;
  PfJetParams jp;

  pf_pixel_params_init_default (&pp);
  pp.image_size = S;
  pp.threshold = PF_JETS_PIXEL_THRESHOLD;
  int n = pf_pixels_to_particles (&pp, img, xyze, NULL, error);
  if (n < 0)
    return NULL;
  pf_jet_params_init_default (&jp);
  jp.ptmin = PF_JETS_PTMIN;
  jp.areas = TRUE;
  jp.ghost_maxrap = pp.eta_max + jp.radius;
  return pf_fastjet_cluster (&jp, xyze, n, error);
}

static void
to_circles (const PfJetList *l, GArray *out, const int *ids)
{
  for (int i = 0; i < l->n_jets; i++)
    {
      const PfJet *j = &l->jets[i];
      PfJetCircle c = {
        .eta = j->rap, .phi = j->phi, .radius = sqrt (MAX (j->area, 0.0) / G_PI),
        .pt = j->pt, .e = j->e, .id = ids ? ids[i] : i,
      };
      if (c.radius <= 0)
        c.radius = 0.4;
      g_array_append_val (out, c);
    }
}

static void
jets_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  JetsJob *job = task_data;
  GError *error = NULL;
  g_autofree double *xyze = g_new (double, 4 * (gsize) job->S * job->S);
  PfJetList *truth = NULL, *pred = NULL;

  truth = cluster_image (job->truth, job->S, xyze, &error);
  if (!truth)
    goto fail;
  if (g_task_return_error_if_cancelled (task))
    goto out;
  job->truth_jets = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));
  job->pred_jets = g_array_new (FALSE, FALSE, sizeof (PfJetCircle));
  to_circles (truth, job->truth_jets, NULL);
  if (job->pred)
    {
      pred = cluster_image (job->pred, job->S, xyze, &error);
      if (!pred)
        goto fail;
      g_autofree int *ids = g_new (int, MAX (pred->n_jets, 1));
      for (int i = 0; i < pred->n_jets; i++)
        ids[i] = 1000 + i;
      int n_pairs = MIN (truth->n_jets, pred->n_jets);
      g_autofree PfJetMatch *m = g_new (PfJetMatch, MAX (n_pairs, 1));
      int k = pf_jet_match (truth->jets, truth->n_jets, pred->jets, pred->n_jets,
                            PF_MATCH_OVERLAP, 0, m, &error);
      if (k < 0)
        goto fail;
      for (int i = 0; i < k; i++)
        ids[m[i].pred] = m[i].truth;
      to_circles (pred, job->pred_jets, ids);
    }
  g_task_return_boolean (task, TRUE);
  goto out;
fail:
  g_task_return_error (task, error);
out:
  if (truth)
    pf_jet_list_free (truth);
  if (pred)
    pf_jet_list_free (pred);
}

void
pf_jets_cluster_async (const float *truth, const float *pred, int S, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  JetsJob *job = g_new0 (JetsJob, 1);
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  job->S = S;
  job->truth = g_memdup2 (truth, sizeof (float) * S * S);
  job->pred = pred ? g_memdup2 (pred, sizeof (float) * S * S) : NULL;
  g_task_set_task_data (task, job, jets_job_free);
  g_task_set_source_tag (task, pf_jets_cluster_async);
  g_task_run_in_thread (task, jets_thread);
  g_object_unref (task);
}

gboolean
pf_jets_cluster_finish (GAsyncResult *result, GArray **truth, GArray **pred, GError **error)
{
  GTask *task = G_TASK (result);
  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  JetsJob *job = g_task_get_task_data (task);
  *truth = g_steal_pointer (&job->truth_jets);
  *pred = g_steal_pointer (&job->pred_jets);
  return TRUE;
}
