/* The engine's inner scans in C: the same arithmetic as their Python references, in the
 * same order, so both give the same moves (tests/engine/test_scan.py checks it).
 *
 * Each function reads a Compiled's arrays (copied once into a capsule by arrays()) and a
 * tour's Python lists, and returns the best move it finds; applying moves, focus sets and
 * clocks stay in Python. Built by `python -m routes.engine.build` with -ffp-contract=off
 * and no -march flag: IEEE doubles exactly as Python computes them, on every x86-64 CPU.
 * Python reference of each function, in routes/engine:
 *   tour_arrays   tour.py        Tour.set
 *   insertion     tour.py        Tour.insertion
 *   relocate_best local_search.py _relocate_best_py
 *   near_place    local_search.py _near_place_py (with _moved_fits)
 *   relocate_near_next  local_search.py relocate_near's scan for the next move
 *   exchange_best local_search.py _exchange_best_py
 *   two_opt_best  local_search.py _two_opt_best_py
 *   tour_insert        tour.py         Tour.insert_py
 *   exchange_near_best local_search.py _exchange_near_best_py (with _swap_fits, _walk)
 *   two_opt_near_best  local_search.py _two_opt_near_best_py (with _walk)
 *   neighbours, timed_neighbours  ils.py neighbours_py, timed_neighbours_py
 *   substitute_best, squeeze_best insertion.py _substitute_best_py, _squeeze_best_py
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef SOURCE_HASH
#define SOURCE_HASH "unknown"
#endif

#define IMPROVES 1e-6

typedef struct {
    Py_ssize_t n; /* rows: stops + the origin D */
    double *cost; /* n x n */
    double *opn, *close, *service;
    long long *weight; /* prize weights, when they and their sum fit in 62 bits */
    int has_weight;
} Arrays;

#define COST(a, b) (A->cost[(a) * A->n + (b)])
#define CAPSULE "routes.engine._scan.Arrays"

static void arrays_free(PyObject *capsule) {
    Arrays *A = (Arrays *)PyCapsule_GetPointer(capsule, CAPSULE);
    if (A) {
        PyMem_Free(A->cost);
        PyMem_Free(A->opn);
        PyMem_Free(A->close);
        PyMem_Free(A->service);
        PyMem_Free(A->weight);
        PyMem_Free(A);
    }
}

static int read_doubles(PyObject *list, Py_ssize_t n, double *out, const char *name) {
    if (!PyList_Check(list) || PyList_GET_SIZE(list) != n) {
        PyErr_Format(PyExc_ValueError, "%s: a list of %zd numbers expected", name, n);
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        double x = PyFloat_AsDouble(PyList_GET_ITEM(list, k));
        if (x == -1.0 && PyErr_Occurred()) return -1;
        out[k] = x;
    }
    return 0;
}

static PyObject *arrays(PyObject *self, PyObject *args) {
    PyObject *cost, *opn, *close, *service, *weight = Py_None;
    if (!PyArg_ParseTuple(args, "O!O!O!O!|O", &PyList_Type, &cost, &PyList_Type, &opn,
                          &PyList_Type, &close, &PyList_Type, &service, &weight))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(cost);
    Arrays *A = PyMem_Calloc(1, sizeof(Arrays));
    if (!A) return PyErr_NoMemory();
    A->n = n;
    A->cost = PyMem_Malloc(sizeof(double) * (n * n + 1));
    A->opn = PyMem_Malloc(sizeof(double) * (n + 1));
    A->close = PyMem_Malloc(sizeof(double) * (n + 1));
    A->service = PyMem_Malloc(sizeof(double) * (n + 1));
    PyObject *capsule = PyCapsule_New(A, CAPSULE, arrays_free);
    if (!capsule) {
        PyMem_Free(A->cost); PyMem_Free(A->opn); PyMem_Free(A->close); PyMem_Free(A->service);
        PyMem_Free(A);
        return NULL;
    }
    if (!A->cost || !A->opn || !A->close || !A->service) {
        Py_DECREF(capsule);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t a = 0; a < n; a++) {
        if (read_doubles(PyList_GET_ITEM(cost, a), n, A->cost + a * n, "cost row") < 0) goto fail;
    }
    if (read_doubles(opn, n, A->opn, "open") < 0) goto fail;
    if (read_doubles(close, n, A->close, "close") < 0) goto fail;
    if (read_doubles(service, n, A->service, "service") < 0) goto fail;
    if (weight != Py_None) {
        if (!PyList_Check(weight) || PyList_GET_SIZE(weight) != n) {
            PyErr_Format(PyExc_ValueError, "weight: a list of %zd integers expected", n);
            goto fail;
        }
        A->weight = PyMem_Malloc(sizeof(long long) * (n + 1));
        if (!A->weight) {
            PyErr_NoMemory();
            goto fail;
        }
        /* Weights are (stops + 1) ** levels: with many rank levels they outgrow 64 bits, and
         * then the scans that compare them say NotImplemented (Python does them). */
        long long total = 0;
        A->has_weight = 1;
        for (Py_ssize_t k = 0; k < n; k++) {
            int overflow = 0;
            long long w = PyLong_AsLongLongAndOverflow(PyList_GET_ITEM(weight, k), &overflow);
            if (w == -1 && PyErr_Occurred()) goto fail;
            if (overflow || w < 0 || w > (1LL << 62) - total) {
                A->has_weight = 0;
                break;
            }
            total += w;
            A->weight[k] = w;
        }
    }
    return capsule;
fail:
    Py_DECREF(capsule);
    return NULL;
}

/* A tour's lists, checked once per call: seq (copied) holds stop indices below n; the
 * others are read in place and must be as long as seq. */
typedef struct {
    Py_ssize_t m;
    Py_ssize_t *seq;
    PyObject *start, *dep, *latest, *fwd, *bwd;
} View;

/* Item p of a list of numbers (the tour's arrays hold floats, the origin's time may be an int). */
static inline double F(PyObject *list, Py_ssize_t p) {
    PyObject *o = PyList_GET_ITEM(list, p);
    return PyFloat_CheckExact(o) ? PyFloat_AS_DOUBLE(o) : PyFloat_AsDouble(o);
}

static Arrays *get_arrays(PyObject *capsule) {
    return (Arrays *)PyCapsule_GetPointer(capsule, CAPSULE);
}

static int read_seq(Arrays *A, PyObject *seq, View *V) {
    if (!PyList_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "seq: a list expected");
        return -1;
    }
    V->m = PyList_GET_SIZE(seq);
    V->seq = PyMem_Malloc(sizeof(Py_ssize_t) * (V->m + 1));
    if (!V->seq) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t p = 0; p < V->m; p++) {
        Py_ssize_t v = PyLong_AsSsize_t(PyList_GET_ITEM(seq, p));
        if (v == -1 && PyErr_Occurred()) return -1;
        if (v < 0 || v >= A->n) {
            PyErr_SetString(PyExc_IndexError, "seq: stop index out of range");
            return -1;
        }
        V->seq[p] = v;
    }
    return 0;
}

static int check_column(PyObject *list, Py_ssize_t m, const char *name) {
    if (list && (!PyList_Check(list) || PyList_GET_SIZE(list) != m)) {
        PyErr_Format(PyExc_ValueError, "%s: a list as long as seq expected", name);
        return -1;
    }
    return 0;
}

static void view_free(View *V) { PyMem_Free(V->seq); }

/* Check the columns named by the non-NULL lists. */
static int read_view(Arrays *A, PyObject *seq, PyObject *start, PyObject *dep, PyObject *latest,
                     PyObject *fwd, PyObject *bwd, View *V) {
    memset(V, 0, sizeof(View));
    if (read_seq(A, seq, V) < 0) return -1;
    if (check_column(start, V->m, "start") < 0 || check_column(dep, V->m, "dep") < 0 ||
        check_column(latest, V->m, "latest") < 0 || check_column(fwd, V->m, "fwd") < 0 ||
        check_column(bwd, V->m, "bwd") < 0)
        return -1;
    V->start = start;
    V->dep = dep;
    V->latest = latest;
    V->fwd = fwd;
    V->bwd = bwd;
    return 0;
}

/* The capsule's arrays and a checked view of the tour's lists; NULL with an exception set.
 * V is always safe to view_free. */
static Arrays *open_view(PyObject *capsule, PyObject *seq, PyObject *start, PyObject *dep,
                         PyObject *latest, PyObject *fwd, PyObject *bwd, View *V) {
    memset(V, 0, sizeof(View));
    Arrays *A = get_arrays(capsule);
    if (!A || read_view(A, seq, start, dep, latest, fwd, bwd, V) < 0) return NULL;
    return A;
}

/* Are positions i <= j both stops of the tour (not the origin at either end)? */
static int in_tour(View *V, Py_ssize_t i, Py_ssize_t j) {
    if (i < 1 || j < i || j > V->m - 2) {
        PyErr_SetString(PyExc_IndexError, "positions outside the tour's stops");
        return 0;
    }
    return 1;
}

static PyObject *double_list(const double *xs, Py_ssize_t m) {
    PyObject *list = PyList_New(m);
    if (!list) return NULL;
    for (Py_ssize_t p = 0; p < m; p++) {
        PyObject *x = PyFloat_FromDouble(xs[p]);
        if (!x) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, p, x);
    }
    return list;
}

/* tour_arrays(arrays, seq, t0) -> (start, dep, latest, fwd, bwd) */
static PyObject *tour_arrays(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq;
    double t;
    if (!PyArg_ParseTuple(args, "OO!d", &capsule, &PyList_Type, &seq, &t)) return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    View V;
    memset(&V, 0, sizeof(View));
    PyObject *result = NULL;
    double *start = NULL, *dep = NULL, *latest = NULL, *fwd = NULL, *bwd = NULL;
    if (read_seq(A, seq, &V) < 0) goto done;
    Py_ssize_t m = V.m;
    if (m < 2) {
        PyErr_SetString(PyExc_ValueError, "seq: the origin at both ends expected");
        goto done;
    }
    start = PyMem_Malloc(sizeof(double) * m);
    dep = PyMem_Malloc(sizeof(double) * m);
    latest = PyMem_Malloc(sizeof(double) * m);
    fwd = PyMem_Malloc(sizeof(double) * m);
    bwd = PyMem_Malloc(sizeof(double) * m);
    if (!start || !dep || !latest || !fwd || !bwd) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t *s = V.seq;
    start[0] = dep[0] = t;
    fwd[0] = bwd[0] = 0.0;
    Py_ssize_t prev = s[0];
    double f = 0.0, b = 0.0;
    for (Py_ssize_t p = 1; p < m; p++) {
        Py_ssize_t v = s[p];
        double leg = COST(prev, v);
        double arr = t + leg;
        double st = arr > A->opn[v] ? arr : A->opn[v];
        start[p] = st;
        t = st + A->service[v];
        dep[p] = t;
        f += leg;
        b += COST(v, prev);
        fwd[p] = f;
        bwd[p] = b;
        prev = v;
    }
    double nxt_latest = latest[m - 1] = A->close[s[m - 1]];
    Py_ssize_t nxt = s[m - 1];
    for (Py_ssize_t p = m - 2; p >= 0; p--) {
        Py_ssize_t v = s[p];
        double lim = nxt_latest - COST(v, nxt) - A->service[v];
        nxt_latest = latest[p] = A->close[v] < lim ? A->close[v] : lim;
        nxt = v;
    }
    result = Py_BuildValue("(NNNNN)", double_list(start, m), double_list(dep, m),
                           double_list(latest, m), double_list(fwd, m), double_list(bwd, m));
done:
    PyMem_Free(start);
    PyMem_Free(dep);
    PyMem_Free(latest);
    PyMem_Free(fwd);
    PyMem_Free(bwd);
    view_free(&V);
    return result;
}

/* Can u go between positions p and p+1? Then *score is the added travel, or with by_shift
 * the added time at the next stop. */
static inline int gap(Arrays *A, View *V, Py_ssize_t u, Py_ssize_t p, int by_shift,
                      double *score) {
    Py_ssize_t x = V->seq[p], y = V->seq[p + 1];
    double arr = F(V->dep, p) + COST(x, u);
    if (arr > A->close[u]) return 0;
    double st = arr > A->opn[u] ? arr : A->opn[u];
    double arr2 = st + A->service[u] + COST(u, y);
    if (arr2 > F(V->latest, p + 1)) return 0;
    *score = by_shift ? arr2 - (F(V->dep, p) + COST(x, y)) : COST(x, u) + COST(u, y) - COST(x, y);
    return 1;
}

/* insertion(arrays, seq, dep, latest, u, by_shift, near, pos) -> (score, p) | None;
 * near is a list of stops or None; pos the tour's {stop: position} when near is given. */
static PyObject *insertion(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest, *near, *pos;
    Py_ssize_t u;
    int by_shift;
    if (!PyArg_ParseTuple(args, "OO!O!O!npOO", &capsule, &PyList_Type, &seq, &PyList_Type, &dep,
                          &PyList_Type, &latest, &u, &by_shift, &near, &pos))
        return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    if (u < 0 || u >= A->n) {
        PyErr_SetString(PyExc_IndexError, "u: stop index out of range");
        return NULL;
    }
    View V;
    PyObject *result = NULL;
    if (read_view(A, seq, NULL, dep, latest, NULL, NULL, &V) < 0) goto done;
    Py_ssize_t best = -1;
    double best_score = Py_HUGE_VAL;
    if (near != Py_None) {
        if (!PyList_Check(near) || !PyDict_Check(pos)) {
            PyErr_SetString(PyExc_TypeError, "near: a list and pos: a dict expected");
            goto done;
        }
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(near); k++) {
            PyObject *at = PyDict_GetItemWithError(pos, PyList_GET_ITEM(near, k));
            if (!at) {
                if (PyErr_Occurred()) goto done;
                continue;
            }
            Py_ssize_t q = PyLong_AsSsize_t(at);
            if (q == -1 && PyErr_Occurred()) goto done;
            if (q < 1 || q > V.m - 1) {
                PyErr_SetString(PyExc_IndexError, "pos: position out of range");
                goto done;
            }
            for (Py_ssize_t p = q - 1; p <= q && p + 1 < V.m; p++) {
                double score;
                if (gap(A, &V, u, p, by_shift, &score) && score < best_score) {
                    best_score = score;
                    best = p;
                }
            }
        }
        if (best >= 0) {
            result = Py_BuildValue("(dn)", best_score, best);
            goto done;
        }
    }
    for (Py_ssize_t p = 0; p < V.m - 1; p++) {
        if (F(V.dep, p) > A->close[u]) break; /* departures only grow along the tour */
        double score;
        if (gap(A, &V, u, p, by_shift, &score) && score < best_score) {
            best_score = score;
            best = p;
        }
    }
    if (best >= 0) {
        result = Py_BuildValue("(dn)", best_score, best);
    } else {
        result = Py_NewRef(Py_None);
    }
done:
    view_free(&V);
    return result;
}

/* Time nodes[0..len) (step -1 walks backwards from nodes) after leaving prev at t; resume is
 * the position of nodes[0] in the old sequence, or -1 for a new order: once a stop starts
 * when it used to, the rest keeps its old times. Returns 0 if a stop is late, else sets
 * *t_out and *last_out. */
static int walk(Arrays *A, View *V, double t, Py_ssize_t prev, const Py_ssize_t *nodes,
                Py_ssize_t len, Py_ssize_t step, Py_ssize_t resume, double *t_out,
                Py_ssize_t *last_out) {
    for (Py_ssize_t k = 0; k < len; k++) {
        Py_ssize_t w = nodes[k * step];
        double arr = t + COST(prev, w);
        double st = arr > A->opn[w] ? arr : A->opn[w];
        if (st > A->close[w]) return 0;
        if (resume >= 0 && st == F(V->start, resume + k)) {
            *t_out = F(V->dep, resume + len - 1);
            *last_out = nodes[(len - 1) * step];
            return 1;
        }
        t = st + A->service[w];
        prev = w;
    }
    *t_out = t;
    *last_out = prev;
    return 1;
}

/* walk() over a stretch of a new order, forwards or (rev) from its last stop back. */
static int serve(Arrays *A, double *t, Py_ssize_t *prev, const Py_ssize_t *stretch,
                 Py_ssize_t len, int rev) {
    return walk(A, NULL, *t, *prev, rev ? stretch + len - 1 : stretch, len, rev ? -1 : 1, -1, t,
                prev);
}

/* Leaving prev at t, can stretch[0..len) (reversed if rev) be served and nxt reached by limit? */
static int fits(Arrays *A, double t, Py_ssize_t prev, const Py_ssize_t *stretch, Py_ssize_t len,
                int rev, Py_ssize_t nxt, double limit) {
    if (!serve(A, &t, &prev, stretch, len, rev)) return 0;
    return t + COST(prev, nxt) <= limit;
}

/* As fits(), with a summarised stretch mid (then tail minutes) between the stretch and limit. */
static int fits_before(Arrays *A, double t, Py_ssize_t prev, const Py_ssize_t *stretch,
                       Py_ssize_t len, int rev, Py_ssize_t m_first, double m_early,
                       double m_late, double m_dur, double tail, double limit) {
    if (!serve(A, &t, &prev, stretch, len, rev)) return 0;
    double arr = t + COST(prev, m_first);
    if (arr > m_late) return 0;
    return (arr > m_early ? arr : m_early) + m_dur + tail <= limit;
}

static PyObject *index_or_none(Py_ssize_t best) {
    return best < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(best);
}

static PyObject *move_or_none(Py_ssize_t best, int reverse) {
    if (best < 0) return Py_NewRef(Py_None);
    return Py_BuildValue("(nO)", best, reverse ? Py_True : Py_False);
}

/* relocate_best(arrays, seq, dep, latest, fwd, bwd, i, length) -> (p, reversed) | None */
static PyObject *relocate_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest, *fwd, *bwd;
    Py_ssize_t i, length;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!nn", &capsule, &PyList_Type, &seq, &PyList_Type,
                          &dep, &PyList_Type, &latest, &PyList_Type, &fwd, &PyList_Type, &bwd,
                          &i, &length))
        return NULL;
    View V;
    PyObject *result = NULL;
    Arrays *A = open_view(capsule, seq, NULL, dep, latest, fwd, bwd, &V);
    Py_ssize_t k = V.m - 2, j = i + length - 1;
    if (!A || !in_tour(&V, i, j)) goto done;
    Py_ssize_t *s = V.seq;
    Py_ssize_t first = s[i], last = s[j], before = s[i - 1], after = s[j + 1];
    double cut = COST(before, first) + COST(last, after) - COST(before, after);
    double rev_inner = length > 1 ? (F(V.bwd, j) - F(V.bwd, i)) - (F(V.fwd, j) - F(V.fwd, i)) : 0.0;
    double best_gain = IMPROVES;
    Py_ssize_t best = -1;
    int best_rev = 0;
    const Py_ssize_t *stretch = s + i;
    double b_first = A->close[first] > A->close[last] ? A->close[first] : A->close[last];

    double t = F(V.dep, i - 1);
    Py_ssize_t prev = before;
    for (Py_ssize_t p = j + 1; p <= k; p++) {
        Py_ssize_t v = s[p];
        double arr = t + COST(prev, v);
        double st = arr > A->opn[v] ? arr : A->opn[v];
        if (st > A->close[v]) break;
        t = st + A->service[v];
        prev = v;
        if (t > b_first) break;
        Py_ssize_t nxt = s[p + 1];
        double base = cut + COST(v, nxt);
        double gain = base - COST(v, first) - COST(last, nxt);
        if (gain > best_gain && fits(A, t, v, stretch, length, 0, nxt, F(V.latest, p + 1))) {
            best_gain = gain;
            best = p;
            best_rev = 0;
        }
        if (length > 1) {
            gain = base - COST(v, last) - COST(first, nxt) - rev_inner;
            if (gain > best_gain && fits(A, t, v, stretch, length, 1, nxt, F(V.latest, p + 1))) {
                best_gain = gain;
                best = p;
                best_rev = 1;
            }
        }
    }

    if (i >= 2) {
        Py_ssize_t v = before;
        double m_dur = A->service[v], m_early = A->opn[v], m_late = A->close[v];
        Py_ssize_t m_first = v;
        double tail = COST(before, after);
        double lat_after = F(V.latest, j + 1);
        for (Py_ssize_t p = i - 2; p >= 0; p--) {
            if (m_early + m_dur + tail > lat_after) break;
            Py_ssize_t x = s[p];
            double base = cut + COST(x, m_first);
            double gain = base - COST(x, first) - COST(last, m_first);
            if (gain > best_gain && fits_before(A, F(V.dep, p), x, stretch, length, 0, m_first,
                                                m_early, m_late, m_dur, tail, lat_after)) {
                best_gain = gain;
                best = p;
                best_rev = 0;
            }
            if (length > 1) {
                gain = base - COST(x, last) - COST(first, m_first) - rev_inner;
                if (gain > best_gain && fits_before(A, F(V.dep, p), x, stretch, length, 1, m_first,
                                                    m_early, m_late, m_dur, tail, lat_after)) {
                    best_gain = gain;
                    best = p;
                    best_rev = 1;
                }
            }
            if (p == 0) break;
            double leg = COST(x, m_first);
            double delta = A->service[x] + leg;
            double wait = m_early - delta - A->close[x];
            double warp = A->opn[x] + delta - m_late;
            if (warp > 0) break;
            wait = wait > 0 ? wait : 0.0;
            m_early = (m_early - delta > A->opn[x] ? m_early - delta : A->opn[x]) - wait;
            m_late = m_late - delta < A->close[x] ? m_late - delta : A->close[x];
            m_dur = m_dur + A->service[x] + leg + wait;
            m_first = x;
        }
    }
    result = move_or_none(best, best_rev);
done:
    view_free(&V);
    return result;
}

/* Is the tour feasible with s[i..j] taken out and the stretch (reversed if rev) put after p?
 * The stops the move shifts are walked until they meet their old schedule. */
static int moved_fits(Arrays *A, View *V, Py_ssize_t i, Py_ssize_t j, Py_ssize_t p, int rev) {
    Py_ssize_t *s = V->seq;
    const Py_ssize_t *piece = s + i;
    Py_ssize_t len = j - i + 1;
    double t;
    Py_ssize_t prev;
    if (p > j) {
        /* Forwards: s[j+1 .. p] move earlier, then the piece. */
        if (!walk(A, V, F(V->dep, i - 1), s[i - 1], s + j + 1, p - j, 1, j + 1, &t, &prev))
            return 0;
        return fits(A, t, prev, piece, len, rev, s[p + 1], F(V->latest, p + 1));
    }
    /* Backwards: the piece after s[p], then s[p+1 .. i-1] move later. */
    t = F(V->dep, p);
    prev = s[p];
    if (!serve(A, &t, &prev, piece, len, rev)) return 0;
    if (!walk(A, V, t, prev, s + p + 1, i - 1 - p, 1, p + 1, &t, &prev)) return 0;
    return t + COST(s[i - 1], s[j + 1]) <= F(V->latest, j + 1);
}

/* Positions (pos[w]) of the stops of near that are on the tour, in near's order. */
static Py_ssize_t positions(PyObject *near, PyObject *pos, Py_ssize_t m, Py_ssize_t *out) {
    Py_ssize_t count = 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(near); k++) {
        PyObject *at = PyDict_GetItemWithError(pos, PyList_GET_ITEM(near, k));
        if (!at) {
            if (PyErr_Occurred()) return -1;
            continue;
        }
        Py_ssize_t q = PyLong_AsSsize_t(at);
        if (q == -1 && PyErr_Occurred()) return -1;
        if (q < 1 || q > m - 2) {
            PyErr_SetString(PyExc_IndexError, "pos: position out of range");
            return -1;
        }
        out[count++] = q;
    }
    return count;
}

/* The core of near_place: sets *best_p (or -1) and *best_rev; -1 on a Python error. */
static int near_place_core(Arrays *A, View *V, PyObject *pos, PyObject *near_first,
                           PyObject *near_last, Py_ssize_t i, Py_ssize_t j, double floor,
                           Py_ssize_t *best_p, int *best_rev) {
    int status = -1;
    Py_ssize_t *at_first = NULL, *at_last = NULL;
    Py_ssize_t *s = V->seq;
    Py_ssize_t length = j - i + 1;
    Py_ssize_t first = s[i], last = s[j], before = s[i - 1], after = s[j + 1];
    double cut = COST(before, first) + COST(last, after) - COST(before, after);
    double rev_inner =
        length > 1 ? (F(V->bwd, j) - F(V->bwd, i)) - (F(V->fwd, j) - F(V->fwd, i)) : 0.0;
    at_first = PyMem_Malloc(sizeof(Py_ssize_t) * (PyList_GET_SIZE(near_first) + 1));
    at_last = PyMem_Malloc(sizeof(Py_ssize_t) * (PyList_GET_SIZE(near_last) + 1));
    if (!at_first || !at_last) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_first = positions(near_first, pos, V->m, at_first);
    if (n_first < 0) goto done;
    Py_ssize_t n_last = n_first;
    Py_ssize_t *last_places = at_first;
    if (length > 1) {
        n_last = positions(near_last, pos, V->m, at_last);
        if (n_last < 0) goto done;
        last_places = at_last;
    }
    double best_gain = floor;
    Py_ssize_t best = -1;
    int best_r = 0;
    int options = length > 1 ? 4 : 2;
    for (int o = 0; o < options; o++) {
        /* after a neighbour of first, before one of last, then reversed the other way */
        Py_ssize_t *places = (o == 0 || o == 2) ? at_first : last_places;
        Py_ssize_t count = (o == 0 || o == 2) ? n_first : n_last;
        Py_ssize_t offset = (o == 0 || o == 3) ? 0 : -1;
        int reverse = o >= 2;
        for (Py_ssize_t c = 0; c < count; c++) {
            Py_ssize_t p = places[c] + offset;
            if (i - 1 <= p && p <= j) continue;
            Py_ssize_t v = s[p], nxt = s[p + 1];
            double gain = reverse
                              ? cut + COST(v, nxt) - COST(v, last) - COST(first, nxt) - rev_inner
                              : cut + COST(v, nxt) - COST(v, first) - COST(last, nxt);
            if (gain > best_gain && moved_fits(A, V, i, j, p, reverse)) {
                best_gain = gain;
                best = p;
                best_r = reverse;
            }
        }
    }
    *best_p = best;
    *best_rev = best_r;
    status = 0;
done:
    PyMem_Free(at_first);
    PyMem_Free(at_last);
    return status;
}

/* near_place(arrays, seq, start, dep, latest, fwd, bwd, pos, near_first, near_last, i, j,
 *            floor) -> (p, reversed) | None */
static PyObject *near_place(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *start, *dep, *latest, *fwd, *bwd, *pos, *near_first, *near_last;
    Py_ssize_t i, j;
    double floor;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O!O!O!O!nnd", &capsule, &PyList_Type, &seq,
                          &PyList_Type, &start, &PyList_Type, &dep, &PyList_Type, &latest,
                          &PyList_Type, &fwd, &PyList_Type, &bwd, &PyDict_Type, &pos,
                          &PyList_Type, &near_first, &PyList_Type, &near_last, &i, &j, &floor))
        return NULL;
    View V;
    PyObject *result = NULL;
    Arrays *A = open_view(capsule, seq, start, dep, latest, fwd, bwd, &V);
    if (!A || !in_tour(&V, i, j)) goto done;
    Py_ssize_t best;
    int best_rev;
    if (near_place_core(A, &V, pos, near_first, near_last, i, j, floor, &best, &best_rev) < 0)
        goto done;
    result = move_or_none(best, best_rev);
done:
    view_free(&V);
    return result;
}

/* relocate_near_next(arrays, seq, start, dep, latest, fwd, bwd, pos, near, i, length, scan)
 * -> (i, p, reversed) | None: from position i on, the first stretch of length stops whose
 * first stop is in scan (a set, or None for all) that near_place can move with a gain. */
static PyObject *relocate_near_next(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *start, *dep, *latest, *fwd, *bwd, *pos, *near, *scan;
    Py_ssize_t i, length;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O!O!O!nnO", &capsule, &PyList_Type, &seq,
                          &PyList_Type, &start, &PyList_Type, &dep, &PyList_Type, &latest,
                          &PyList_Type, &fwd, &PyList_Type, &bwd, &PyDict_Type, &pos,
                          &PyDict_Type, &near, &i, &length, &scan))
        return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    if (scan != Py_None && !PyAnySet_Check(scan)) {
        PyErr_SetString(PyExc_TypeError, "scan: a set or None expected");
        return NULL;
    }
    View V;
    PyObject *result = NULL;
    if (read_view(A, seq, start, dep, latest, fwd, bwd, &V) < 0) goto done;
    if (i < 1 || length < 1) {
        PyErr_SetString(PyExc_IndexError, "i and length must be positive");
        goto done;
    }
    for (; i + length - 1 <= V.m - 2; i++) {
        PyObject *first = PyList_GET_ITEM(seq, i);
        if (scan != Py_None) {
            int in = PySet_Contains(scan, first);
            if (in < 0) goto done;
            if (!in) continue;
        }
        Py_ssize_t j = i + length - 1;
        PyObject *near_first = PyDict_GetItemWithError(near, first);
        PyObject *near_last = near_first;
        if (near_first && j != i) near_last = PyDict_GetItemWithError(near, PyList_GET_ITEM(seq, j));
        if (!near_first || !near_last) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "a stop has no neighbour list");
            goto done;
        }
        if (!PyList_Check(near_first) || !PyList_Check(near_last)) {
            PyErr_SetString(PyExc_TypeError, "near: lists expected");
            goto done;
        }
        Py_ssize_t best;
        int best_rev;
        if (near_place_core(A, &V, pos, near_first, near_last, i, j, IMPROVES, &best, &best_rev) <
            0)
            goto done;
        if (best >= 0) {
            result = Py_BuildValue("(nnO)", i, best, best_rev ? Py_True : Py_False);
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    view_free(&V);
    return result;
}

/* exchange_best(arrays, seq, dep, latest, i) -> j | None: the best partner after i */
static PyObject *exchange_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OO!O!O!n", &capsule, &PyList_Type, &seq, &PyList_Type, &dep,
                          &PyList_Type, &latest, &i))
        return NULL;
    View V;
    PyObject *result = NULL;
    Arrays *A = open_view(capsule, seq, NULL, dep, latest, NULL, NULL, &V);
    Py_ssize_t k = V.m - 2;
    if (!A || !in_tour(&V, i, i)) goto done;
    Py_ssize_t *s = V.seq;
    Py_ssize_t u = s[i], before = s[i - 1], nxt_u = s[i + 1];
    double au = A->opn[u], bu = A->close[u], su = A->service[u];
    double best_gain = IMPROVES;
    Py_ssize_t best = -1;
    double m_dur = 0.0, m_early = 0.0, m_late = 0.0;
    Py_ssize_t m_last = -1;
    for (Py_ssize_t j = i + 1; j <= k; j++) {
        Py_ssize_t v = s[j], after = s[j + 1];
        if (j == i + 1) {
            double gain = (COST(before, u) + COST(u, v) + COST(v, after)) -
                          (COST(before, v) + COST(v, u) + COST(u, after));
            if (gain > best_gain) {
                double arr = F(V.dep, i - 1) + COST(before, v);
                double st = arr > A->opn[v] ? arr : A->opn[v];
                if (st <= A->close[v]) {
                    arr = st + A->service[v] + COST(v, u);
                    st = arr > au ? arr : au;
                    if (st <= bu && st + su + COST(u, after) <= F(V.latest, j + 1)) {
                        best_gain = gain;
                        best = j;
                    }
                }
            }
            m_dur = A->service[v];
            m_early = A->opn[v];
            m_late = A->close[v];
            m_last = v;
            continue;
        }
        if (m_early + m_dur > bu) break;
        double gain = (COST(before, u) + COST(u, nxt_u) + COST(m_last, v) + COST(v, after)) -
                      (COST(before, v) + COST(v, nxt_u) + COST(m_last, u) + COST(u, after));
        if (gain > best_gain) {
            double arr = F(V.dep, i - 1) + COST(before, v);
            double st = arr > A->opn[v] ? arr : A->opn[v];
            if (st <= A->close[v]) {
                arr = st + A->service[v] + COST(v, nxt_u);
                if (arr <= m_late) {
                    double tt = (arr > m_early ? arr : m_early) + m_dur;
                    arr = tt + COST(m_last, u);
                    st = arr > au ? arr : au;
                    if (st <= bu && st + su + COST(u, after) <= F(V.latest, j + 1)) {
                        best_gain = gain;
                        best = j;
                    }
                }
            }
        }
        double leg = COST(m_last, v);
        double delta = m_dur + leg;
        double wait = A->opn[v] - delta - m_late;
        double warp = m_early + delta - A->close[v];
        if (warp > 0) break;
        wait = wait > 0 ? wait : 0.0;
        m_early = (A->opn[v] - delta > m_early ? A->opn[v] - delta : m_early) - wait;
        m_late = A->close[v] - delta < m_late ? A->close[v] - delta : m_late;
        m_dur = m_dur + A->service[v] + leg + wait;
        m_last = v;
    }
    result = index_or_none(best);
done:
    view_free(&V);
    return result;
}

/* two_opt_best(arrays, seq, dep, latest, fwd, bwd, i) -> j | None: reverse s[i..j] */
static PyObject *two_opt_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest, *fwd, *bwd;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!n", &capsule, &PyList_Type, &seq, &PyList_Type,
                          &dep, &PyList_Type, &latest, &PyList_Type, &fwd, &PyList_Type, &bwd,
                          &i))
        return NULL;
    View V;
    PyObject *result = NULL;
    Arrays *A = open_view(capsule, seq, NULL, dep, latest, fwd, bwd, &V);
    Py_ssize_t k = V.m - 2;
    if (!A || !in_tour(&V, i, i)) goto done;
    Py_ssize_t *s = V.seq;
    Py_ssize_t before = s[i - 1], x = s[i];
    double base_in = COST(before, x);
    double best_gain = IMPROVES;
    Py_ssize_t best = -1;
    double r_dur = A->service[x], r_early = A->opn[x], r_late = A->close[x];
    Py_ssize_t r_first = x;
    double t_before = F(V.dep, i - 1);
    for (Py_ssize_t j = i + 1; j <= k; j++) {
        Py_ssize_t v = s[j];
        double leg = COST(v, r_first);
        double delta = A->service[v] + leg;
        double warp = A->opn[v] + delta - r_late;
        if (warp > 0) break;
        double wait = r_early - delta - A->close[v];
        wait = wait > 0 ? wait : 0.0;
        r_early = (r_early - delta > A->opn[v] ? r_early - delta : A->opn[v]) - wait;
        r_late = r_late - delta < A->close[v] ? r_late - delta : A->close[v];
        r_dur = r_dur + A->service[v] + leg + wait;
        r_first = v;
        Py_ssize_t after = s[j + 1];
        double gain = (base_in + COST(v, after) + (F(V.fwd, j) - F(V.fwd, i))) -
                      (COST(before, v) + COST(x, after) + (F(V.bwd, j) - F(V.bwd, i)));
        if (gain <= best_gain) continue;
        double arr = t_before + COST(before, v);
        if (arr > r_late) continue;
        double tt = (arr > r_early ? arr : r_early) + r_dur;
        if (tt + COST(x, after) <= F(V.latest, j + 1)) {
            best_gain = gain;
            best = j;
        }
    }
    result = index_or_none(best);
done:
    view_free(&V);
    return result;
}

/* tour_insert(arrays, seq, start, dep, latest, fwd, bwd, u, p): Tour.insert in place */
static PyObject *tour_insert(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *start, *dep, *latest, *fwd, *bwd;
    Py_ssize_t u, p;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O!nn", &capsule, &PyList_Type, &seq, &PyList_Type,
                          &start, &PyList_Type, &dep, &PyList_Type, &latest, &PyList_Type, &fwd,
                          &PyList_Type, &bwd, &u, &p))
        return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    View V;
    if (read_view(A, seq, start, dep, latest, fwd, bwd, &V) < 0) {
        view_free(&V);
        return NULL;
    }
    Py_ssize_t old_m = V.m;
    if (u < 0 || u >= A->n || p < 0 || p > old_m - 2) {
        view_free(&V);
        PyErr_SetString(PyExc_IndexError, "u or p out of range");
        return NULL;
    }
    Py_ssize_t x = V.seq[p], y = V.seq[p + 1];
    view_free(&V);
    double d_fwd = COST(x, u) + COST(u, y) - COST(x, y);
    double d_bwd = COST(u, x) + COST(y, u) - COST(y, x);
    PyObject *item;
#define INSERT(list, value)                                          \
    item = (value);                                                  \
    if (!item || PyList_Insert((list), p + 1, item) < 0) goto fail; \
    Py_DECREF(item);
#define SET(list, q, value)                                          \
    item = PyFloat_FromDouble(value);                                \
    if (!item) goto fail;                                            \
    PyList_SetItem((list), (q), item);
    INSERT(seq, PyLong_FromSsize_t(u));
    Py_ssize_t m = old_m + 1;
    INSERT(fwd, PyFloat_FromDouble(F(fwd, p) + COST(x, u)));
    for (Py_ssize_t q = p + 2; q < m; q++) {
        SET(fwd, q, F(fwd, q) + d_fwd);
    }
    INSERT(bwd, PyFloat_FromDouble(F(bwd, p) + COST(u, x)));
    for (Py_ssize_t q = p + 2; q < m; q++) {
        SET(bwd, q, F(bwd, q) + d_bwd);
    }
    INSERT(start, PyFloat_FromDouble(0.0));
    INSERT(dep, PyFloat_FromDouble(0.0));
    double t = F(dep, p);
    Py_ssize_t prev = x;
    for (Py_ssize_t q = p + 1; q < m; q++) {
        Py_ssize_t v = PyLong_AsSsize_t(PyList_GET_ITEM(seq, q));
        double arr = t + COST(prev, v);
        double st = arr > A->opn[v] ? arr : A->opn[v];
        if (q > p + 1 && st == F(start, q)) break;
        SET(start, q, st);
        t = st + A->service[v];
        SET(dep, q, t);
        prev = v;
    }
    INSERT(latest, PyFloat_FromDouble(0.0));
    double nxt_latest = F(latest, p + 2);
    Py_ssize_t nxt = y;
    for (Py_ssize_t q = p + 1; q >= 0; q--) {
        Py_ssize_t v = PyLong_AsSsize_t(PyList_GET_ITEM(seq, q));
        double lim = nxt_latest - COST(v, nxt) - A->service[v];
        double value = A->close[v] < lim ? A->close[v] : lim;
        if (q <= p && value == F(latest, q)) break;
        SET(latest, q, value);
        nxt_latest = value;
        nxt = v;
    }
#undef INSERT
#undef SET
    Py_RETURN_NONE;
fail:
    Py_XDECREF(item);
    return NULL;
}

static int swap_fits(Arrays *A, View *V, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t *s = V->seq;
    double t;
    Py_ssize_t last;
    if (!walk(A, V, F(V->dep, a - 1), s[a - 1], s + b, 1, 1, -1, &t, &last)) return 0;
    if (b > a + 1 && !walk(A, V, t, last, s + a + 1, b - a - 1, 1, a + 1, &t, &last)) return 0;
    if (!walk(A, V, t, last, s + a, 1, 1, -1, &t, &last)) return 0;
    return t + COST(s[a], s[b + 1]) <= F(V->latest, b + 1);
}

/* exchange_near_best(arrays, seq, start, dep, latest, pos, near_u, i) -> (a, b) | None */
static PyObject *exchange_near_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *start, *dep, *latest, *pos, *near_u;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O!n", &capsule, &PyList_Type, &seq, &PyList_Type,
                          &start, &PyList_Type, &dep, &PyList_Type, &latest, &PyDict_Type, &pos,
                          &PyList_Type, &near_u, &i))
        return NULL;
    View V;
    PyObject *result = NULL;
    Py_ssize_t *places = NULL;
    Arrays *A = open_view(capsule, seq, start, dep, latest, NULL, NULL, &V);
    Py_ssize_t k = V.m - 2;
    if (!A || !in_tour(&V, i, i)) goto done;
    places = PyMem_Malloc(sizeof(Py_ssize_t) * (PyList_GET_SIZE(near_u) + 1));
    if (!places) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t count = positions(near_u, pos, V.m, places);
    if (count < 0) goto done;
    Py_ssize_t *s = V.seq;
    double best_gain = IMPROVES;
    Py_ssize_t best_a = -1, best_b = -1;
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t q = places[c];
        for (Py_ssize_t j = q - 1; j <= q + 1; j += 2) {
            if (j == i || j < 1 || j > k) continue;
            Py_ssize_t a = i < j ? i : j, b = i < j ? j : i;
            Py_ssize_t x = s[a], y = s[b], pa = s[a - 1], nb = s[b + 1];
            double gain;
            if (b == a + 1) {
                gain = (COST(pa, x) + COST(x, y) + COST(y, nb)) -
                       (COST(pa, y) + COST(y, x) + COST(x, nb));
            } else {
                Py_ssize_t na = s[a + 1], pb = s[b - 1];
                gain = (COST(pa, x) + COST(x, na) + COST(pb, y) + COST(y, nb)) -
                       (COST(pa, y) + COST(y, na) + COST(pb, x) + COST(x, nb));
            }
            if (gain > best_gain && swap_fits(A, &V, a, b)) {
                best_gain = gain;
                best_a = a;
                best_b = b;
            }
        }
    }
    result = best_a < 0 ? Py_NewRef(Py_None) : Py_BuildValue("(nn)", best_a, best_b);
done:
    PyMem_Free(places);
    view_free(&V);
    return result;
}

/* two_opt_near_best(arrays, seq, dep, latest, fwd, bwd, pos, near_before, near_x, i)
 * -> j | None: reverse s[i..j] so that before meets s[j] or s[i] meets s[j+1] */
static PyObject *two_opt_near_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest, *fwd, *bwd, *pos, *near_before, *near_x;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O!O!O!n", &capsule, &PyList_Type, &seq, &PyList_Type,
                          &dep, &PyList_Type, &latest, &PyList_Type, &fwd, &PyList_Type, &bwd,
                          &PyDict_Type, &pos, &PyList_Type, &near_before, &PyList_Type, &near_x,
                          &i))
        return NULL;
    View V;
    PyObject *result = NULL;
    Py_ssize_t *ends = NULL;
    Arrays *A = open_view(capsule, seq, NULL, dep, latest, fwd, bwd, &V);
    Py_ssize_t k = V.m - 2;
    if (!A || !in_tour(&V, i, i)) goto done;
    Py_ssize_t n_before = PyList_GET_SIZE(near_before);
    ends = PyMem_Malloc(sizeof(Py_ssize_t) * (n_before + PyList_GET_SIZE(near_x) + 1));
    if (!ends) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t count = positions(near_before, pos, V.m, ends);
    if (count < 0) goto done;
    Py_ssize_t more = positions(near_x, pos, V.m, ends + count);
    if (more < 0) goto done;
    for (Py_ssize_t c = count; c < count + more; c++) ends[c] -= 1;
    count += more;
    Py_ssize_t *s = V.seq;
    Py_ssize_t before = s[i - 1], x = s[i];
    double best_gain = IMPROVES;
    Py_ssize_t best = -1;
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t j = ends[c];
        if (j <= i || j > k) continue;
        Py_ssize_t y = s[j], after = s[j + 1];
        double gain = (COST(before, x) + COST(y, after) + (F(V.fwd, j) - F(V.fwd, i))) -
                      (COST(before, y) + COST(x, after) + (F(V.bwd, j) - F(V.bwd, i)));
        if (gain <= best_gain) continue;
        double t;
        Py_ssize_t last;
        if (walk(A, &V, F(V.dep, i - 1), before, s + j, j - i + 1, -1, -1, &t, &last) &&
            t + COST(x, after) <= F(V.latest, j + 1)) {
            best_gain = gain;
            best = j;
        }
    }
    result = index_or_none(best);
done:
    PyMem_Free(ends);
    view_free(&V);
    return result;
}

typedef struct {
    double score;
    Py_ssize_t v;
} Scored;

static int by_score(const void *a, const void *b) {
    const Scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* The shared part of neighbours and timed_neighbours: for each candidate u, the count
 * others with the least score (ties by index), as {u: [v, ...]}; timed leaves out pairs
 * whose windows never meet. */
static PyObject *nearest(PyObject *args, int timed) {
    PyObject *capsule, *candidates;
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "OO!n", &capsule, &PyList_Type, &candidates, &count)) return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(candidates);
    Py_ssize_t *cands = PyMem_Malloc(sizeof(Py_ssize_t) * (n + 1));
    Scored *scored = PyMem_Malloc(sizeof(Scored) * (n + 1));
    PyObject *result = NULL;
    if (!cands || !scored) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        cands[k] = PyLong_AsSsize_t(PyList_GET_ITEM(candidates, k));
        if (cands[k] == -1 && PyErr_Occurred()) goto done;
        if (cands[k] < 0 || cands[k] >= A->n) {
            PyErr_SetString(PyExc_IndexError, "candidates: stop index out of range");
            goto done;
        }
    }
    result = PyDict_New();
    if (!result) goto done;
    for (Py_ssize_t a = 0; a < n; a++) {
        Py_ssize_t u = cands[a], found = 0;
        double ready_u = A->opn[u] + A->service[u], late_u = A->close[u] + A->service[u];
        for (Py_ssize_t b = 0; b < n; b++) {
            Py_ssize_t v = cands[b];
            if (v == u) continue;
            double score;
            if (timed) {
                double go = COST(u, v);
                double arr = ready_u + go;
                double after = Py_HUGE_VAL, before = Py_HUGE_VAL;
                if (!(arr > A->close[v])) {
                    double wait = A->opn[v] - late_u - go;
                    after = go + (wait > 0.0 ? wait : 0.0);
                }
                double back = COST(v, u);
                arr = A->opn[v] + A->service[v] + back;
                if (!(arr > A->close[u])) {
                    double wait = A->opn[u] - A->close[v] - A->service[v] - back;
                    before = back + (wait > 0.0 ? wait : 0.0);
                }
                score = after < before ? after : before;
                if (!(score < Py_HUGE_VAL)) continue;
            } else {
                double go = COST(u, v), back = COST(v, u);
                score = back < go ? back : go;
            }
            scored[found].score = score;
            scored[found].v = v;
            found++;
        }
        qsort(scored, found, sizeof(Scored), by_score);
        Py_ssize_t keep = found < count ? found : count;
        PyObject *list = PyList_New(keep);
        if (!list) goto fail;
        for (Py_ssize_t k = 0; k < keep; k++) {
            PyObject *v = PyLong_FromSsize_t(scored[k].v);
            if (!v) {
                Py_DECREF(list);
                goto fail;
            }
            PyList_SET_ITEM(list, k, v);
        }
        PyObject *key = PyList_GET_ITEM(candidates, a);
        int status = PyDict_SetItem(result, key, list);
        Py_DECREF(list);
        if (status < 0) goto fail;
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    PyMem_Free(cands);
    PyMem_Free(scored);
    return result;
}

/* neighbours(arrays, candidates, count) -> {u: [v, ...]}: ils.neighbours */
static PyObject *neighbours(PyObject *self, PyObject *args) { return nearest(args, 0); }

/* timed_neighbours(arrays, candidates, count) -> {u: [v, ...]}: ils.timed_neighbours */
static PyObject *timed_neighbours(PyObject *self, PyObject *args) { return nearest(args, 1); }

/* substitute_best(arrays, seq, dep, latest, u, lean=False) -> i | None | NotImplemented: the
 * served stop at position i that u replaces in place with the best (weight gained, travel
 * saved; with lean, travel and visit saved), at least (0, IMPROVES); insertion.substitute's
 * scan for one u. */
static PyObject *substitute_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest;
    Py_ssize_t u;
    int lean = 0;
    if (!PyArg_ParseTuple(args, "OO!O!O!n|p", &capsule, &PyList_Type, &seq, &PyList_Type, &dep,
                          &PyList_Type, &latest, &u, &lean))
        return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    if (!A->has_weight) Py_RETURN_NOTIMPLEMENTED;
    if (u < 0 || u >= A->n) {
        PyErr_SetString(PyExc_IndexError, "u: stop index out of range");
        return NULL;
    }
    View V;
    PyObject *result = NULL;
    if (read_view(A, seq, NULL, dep, latest, NULL, NULL, &V) < 0) goto done;
    Py_ssize_t *s = V.seq;
    double au = A->opn[u], bu = A->close[u], su = A->service[u];
    long long wu = A->weight[u];
    long long best_w = 0;
    double best_saved = IMPROVES;
    Py_ssize_t best = -1;
    for (Py_ssize_t i = 1; i < V.m - 1; i++) {
        Py_ssize_t v = s[i];
        if (A->weight[v] > wu) continue;
        Py_ssize_t x = s[i - 1], y = s[i + 1];
        double arr = F(V.dep, i - 1) + COST(x, u);
        double st = arr > au ? arr : au;
        if (st > bu || st + su + COST(u, y) > F(V.latest, i + 1)) continue;
        double saved = COST(x, v) + COST(v, y) - COST(x, u) - COST(u, y);
        if (lean) saved += A->service[v] - su;
        long long gained = wu - A->weight[v];
        if (gained > best_w || (gained == best_w && saved > best_saved)) {
            best_w = gained;
            best_saved = saved;
            best = i;
        }
    }
    result = index_or_none(best);
done:
    view_free(&V);
    return result;
}

/* squeeze_best(arrays, seq, dep, latest, fwd, u, max_run) -> (a, b) | None | NotImplemented:
 * insertion.squeeze_in's scan for one u (evict seq[a+1 .. b-1], all less important than u,
 * and put u between a and b), best by (prize kept, -travel). */
static PyObject *squeeze_best(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq, *dep, *latest, *fwd;
    Py_ssize_t u, max_run;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!nn", &capsule, &PyList_Type, &seq, &PyList_Type, &dep,
                          &PyList_Type, &latest, &PyList_Type, &fwd, &u, &max_run))
        return NULL;
    Arrays *A = get_arrays(capsule);
    if (!A) return NULL;
    if (!A->has_weight) Py_RETURN_NOTIMPLEMENTED;
    if (u < 0 || u >= A->n) {
        PyErr_SetString(PyExc_IndexError, "u: stop index out of range");
        return NULL;
    }
    View V;
    PyObject *result = NULL;
    if (read_view(A, seq, NULL, dep, latest, fwd, NULL, &V) < 0) goto done;
    Py_ssize_t *s = V.seq, m = V.m;
    double au = A->opn[u], bu = A->close[u], su = A->service[u];
    long long wu = A->weight[u];
    Py_ssize_t best_a = -1, best_b = -1;
    long long best_kept = 0;
    double best_neg = 0.0;
    for (Py_ssize_t a = 0; a < m - 1; a++) {
        if (F(V.dep, a) > bu) break;
        double arr = F(V.dep, a) + COST(s[a], u);
        if (arr > bu) continue;
        double st = arr > au ? arr : au;
        double leave = st + su;
        long long lost = 0;
        Py_ssize_t end = a + 2 + max_run < m ? a + 2 + max_run : m;
        for (Py_ssize_t b = a + 2; b < end; b++) {
            Py_ssize_t v = s[b - 1];
            if (A->weight[v] >= wu) break;
            lost += A->weight[v];
            Py_ssize_t y = s[b];
            if (leave + COST(u, y) <= F(V.latest, b)) {
                double travel = COST(s[a], u) + COST(u, y) - (F(V.fwd, b) - F(V.fwd, a));
                long long kept = wu - lost;
                double neg = -travel;
                if (best_a < 0 || kept > best_kept || (kept == best_kept && neg > best_neg)) {
                    best_kept = kept;
                    best_neg = neg;
                    best_a = a;
                    best_b = b;
                }
                break;
            }
        }
    }
    result = best_a < 0 ? Py_NewRef(Py_None) : Py_BuildValue("(nn)", best_a, best_b);
done:
    view_free(&V);
    return result;
}

static PyMethodDef methods[] = {
    {"arrays", arrays, METH_VARARGS, "arrays(cost, open, close, service[, weight]) -> capsule"},
    {"tour_arrays", tour_arrays, METH_VARARGS,
     "tour_arrays(arrays, seq, t0) -> (start, dep, latest, fwd, bwd)"},
    {"insertion", insertion, METH_VARARGS,
     "insertion(arrays, seq, dep, latest, u, by_shift, near, pos) -> (score, p) | None"},
    {"relocate_best", relocate_best, METH_VARARGS,
     "relocate_best(arrays, seq, dep, latest, fwd, bwd, i, length) -> (p, reversed) | None"},
    {"near_place", near_place, METH_VARARGS,
     "near_place(arrays, seq, start, dep, latest, fwd, bwd, pos, near_first, near_last, i, j, "
     "floor) -> (p, reversed) | None"},
    {"relocate_near_next", relocate_near_next, METH_VARARGS,
     "relocate_near_next(arrays, seq, start, dep, latest, fwd, bwd, pos, near, i, length, scan) "
     "-> (i, p, reversed) | None"},
    {"exchange_best", exchange_best, METH_VARARGS,
     "exchange_best(arrays, seq, dep, latest, i) -> j | None"},
    {"two_opt_best", two_opt_best, METH_VARARGS,
     "two_opt_best(arrays, seq, dep, latest, fwd, bwd, i) -> j | None"},
    {"tour_insert", tour_insert, METH_VARARGS,
     "tour_insert(arrays, seq, start, dep, latest, fwd, bwd, u, p): Tour.insert in place"},
    {"exchange_near_best", exchange_near_best, METH_VARARGS,
     "exchange_near_best(arrays, seq, start, dep, latest, pos, near_u, i) -> (a, b) | None"},
    {"two_opt_near_best", two_opt_near_best, METH_VARARGS,
     "two_opt_near_best(arrays, seq, dep, latest, fwd, bwd, pos, near_before, near_x, i) "
     "-> j | None"},
    {"neighbours", neighbours, METH_VARARGS,
     "neighbours(arrays, candidates, count) -> {u: [v, ...]}"},
    {"timed_neighbours", timed_neighbours, METH_VARARGS,
     "timed_neighbours(arrays, candidates, count) -> {u: [v, ...]}"},
    {"substitute_best", substitute_best, METH_VARARGS,
     "substitute_best(arrays, seq, dep, latest, u, lean=False) -> i | None | NotImplemented"},
    {"squeeze_best", squeeze_best, METH_VARARGS,
     "squeeze_best(arrays, seq, dep, latest, fwd, u, max_run) -> (a, b) | None | NotImplemented"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "The route engine's inner scans, compiled.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddStringConstant(m, "SOURCE_HASH", SOURCE_HASH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
