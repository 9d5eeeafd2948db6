#include "ev_seqq.h"

#include <stdlib.h>

int ev_seqq_push(ev_seqq *q, uint64_t seq)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        uint64_t *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    q->v[(q->head + q->n) % q->cap] = seq;
    q->n++;
    return 0;
}

uint64_t ev_seqq_pop(ev_seqq *q)
{
    uint64_t s = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return s;
}

void ev_seqq_unpush(ev_seqq *q)
{
    if (q->n)
        q->n--;
}

void ev_seqq_free(ev_seqq *q)
{
    free(q->v);
    *q = (ev_seqq){0};
}
