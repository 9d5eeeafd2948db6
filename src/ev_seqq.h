/* ev_seqq — a FIFO of sequence numbers (a growable ring), for publishers whose
 * broker answers in command order (Redis pipelines: PUBLISH, EVALSHA): push
 * at send, pop at each reply. Zero-initialised is empty and valid; one owner. */
#ifndef EV_SEQQ_H
#define EV_SEQQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct ev_seqq {
    uint64_t *v; /* owned ring of cap slots */
    size_t cap, head, n;
} ev_seqq;

/* Appends seq (newest). 0, or -1 when out of memory (q unchanged). */
int ev_seqq_push(ev_seqq *q, uint64_t seq);
/* Removes and returns the oldest; q->n must be > 0. */
uint64_t ev_seqq_pop(ev_seqq *q);
/* Removes the newest (undoes a push whose command could not be queued). */
void ev_seqq_unpush(ev_seqq *q);
void ev_seqq_free(ev_seqq *q); /* frees; q is empty and reusable */

#endif
