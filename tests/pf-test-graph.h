/* pf-test-graph.h — graph helpers shared by the engine tests. */
#pragma once
#include "pf-graph.h"

/* The node that produces tensor t, or NULL. */
static inline PfNode *
pf_test_producer (PfGraph *g, int t)
{
  for (int j = 0; j < pf_graph_n_nodes (g); j++)
    if (pf_graph_node (g, j)->out == t)
      return pf_graph_node (g, j);
  return NULL;
}

/* Tensors whose exact gradient is zero, so that two correct implementations hold different
 * rounding noise there: the bias of a conv feeding a BatchNorm (BN removes the mean) and that
 * BN's running mean, which carries the bias; the bias of attention keys (softmax is invariant
 * to the constant q.b it adds to a row of scores). Returns a set of tensor ids. */
static inline GHashTable *
pf_test_noise_tensors (PfGraph *g)
{
  GHashTable *noise = g_hash_table_new (NULL, NULL);
  for (int i = 0; i < pf_graph_n_nodes (g); i++)
    {
      PfNode *n = pf_graph_node (g, i);
      if (n->op != PF_OP_BATCHNORM)
        continue;
      for (int j = 0; j < pf_graph_n_nodes (g); j++)
        {
          PfNode *p = pf_graph_node (g, j);
          if (p->out == n->in[0] && p->op == PF_OP_CONV2D && p->b >= 0)
            {
              g_hash_table_add (noise, GINT_TO_POINTER (p->b));
              g_hash_table_add (noise, GINT_TO_POINTER (n->buf[0]));
            }
        }
    }
  /* scores = bmm (q, k) followed by a softmax over the keys: the key projection's bias,
   * reached through any reshape or permute (row attention: linear; spatial: 1x1 conv) */
  for (int i = 0; i < pf_graph_n_nodes (g); i++)
    {
      PfNode *sm = pf_graph_node (g, i);
      PfNode *n = sm->op == PF_OP_SOFTMAX ? pf_test_producer (g, sm->in[0]) : NULL;
      if (!n || n->op != PF_OP_BMM)
        continue;
      PfNode *k = pf_test_producer (g, n->in[1]);
      while (k && (k->op == PF_OP_RESHAPE || k->op == PF_OP_PERMUTE))
        k = pf_test_producer (g, k->in[0]);
      if (k && (k->op == PF_OP_LINEAR || k->op == PF_OP_CONV2D) && k->b >= 0)
        g_hash_table_add (noise, GINT_TO_POINTER (k->b));
    }
  return noise;
}
