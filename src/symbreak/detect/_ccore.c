/* The compiled core of symbreak's point-group detection (loaded with ctypes by _compiled.py).
 *
 * It runs, for one centred structure at one tolerance, the same steps as the NumPy path of
 * _detect.py and _operations.py: the linear test, the no-symmetry shortcut and the complete
 * search over the images (a', b') of two base atoms, with the same choices, in the same order
 * (so both paths find the same operations). Plain C99 with no Python headers: any C compiler
 * builds it, and a failed build leaves the NumPy path in charge.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SB_LINEAR (-1)
#define SB_OVERFLOW (-2)
#define SB_NOMEM (-3)
#define SB_OPEN_BASE (-10) /* not closed: -(k + 10), the k operations found are returned */

static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static void cross3(const double *a, const double *b, double *c) {
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

/* Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations; eigenvalues in
 * decreasing order, eigenvectors as the columns of v (row-major). */
static void eig3(const double *m, double *w, double *v) {
    double a[9];
    memcpy(a, m, sizeof a);
    for (int i = 0; i < 9; i++) v[i] = (i % 4 == 0) ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
        double diag = a[0] * a[0] + a[4] * a[4] + a[8] * a[8];
        if (off <= 1e-32 * diag || off < 1e-300) break;
        for (int p = 0; p < 2; p++) {
            for (int q = p + 1; q < 3; q++) {
                double apq = a[3 * p + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[3 * q + q] - a[3 * p + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < 3; k++) {
                    double akp = a[3 * k + p], akq = a[3 * k + q];
                    a[3 * k + p] = c * akp - s * akq;
                    a[3 * k + q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {
                    double apk = a[3 * p + k], aqk = a[3 * q + k];
                    a[3 * p + k] = c * apk - s * aqk;
                    a[3 * q + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {
                    double vkp = v[3 * k + p], vkq = v[3 * k + q];
                    v[3 * k + p] = c * vkp - s * vkq;
                    v[3 * k + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    double d[3] = {a[0], a[4], a[8]};
    int idx[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (d[idx[j]] > d[idx[i]]) { int t = idx[i]; idx[i] = idx[j]; idx[j] = t; }
    double vv[9];
    for (int c = 0; c < 3; c++) {
        w[c] = d[idx[c]];
        for (int r = 0; r < 3; r++) vv[3 * r + c] = v[3 * r + idx[c]];
    }
    memcpy(v, vv, sizeof vv);
}

static double det3(const double *m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* Best orthogonal R with det R = d mapping x[i] onto x[perm[i]] (orthogonal Procrustes):
 * H = sum_i x[perm i] x[i]^T = U S V^T, R = U diag(1, 1, s) V^T. */
static void procrustes(int64_t n, const double *x, const int32_t *perm, int d, double *r) {
    double h[9] = {0};
    for (int64_t i = 0; i < n; i++) {
        const double *y = x + 3 * perm[i], *xi = x + 3 * i;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) h[3 * a + b] += y[a] * xi[b];
    }
    double m[9], w[3], v[9];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) m[3 * a + b] = h[0 + a] * h[0 + b] + h[3 + a] * h[3 + b] + h[6 + a] * h[6 + b];
    eig3(m, w, v); /* H^T H = V S^2 V^T */
    double v1[3] = {v[0], v[3], v[6]}, v2[3] = {v[1], v[4], v[7]}, v3[3] = {v[2], v[5], v[8]};
    double u1[3], u2[3], u3[3];
    for (int a = 0; a < 3; a++) {
        u1[a] = h[3 * a] * v1[0] + h[3 * a + 1] * v1[1] + h[3 * a + 2] * v1[2];
        u2[a] = h[3 * a] * v2[0] + h[3 * a + 1] * v2[1] + h[3 * a + 2] * v2[2];
    }
    double n1 = sqrt(dot3(u1, u1));
    if (n1 < 1e-300) { u1[0] = 1; u1[1] = 0; u1[2] = 0; n1 = 1; }
    for (int a = 0; a < 3; a++) u1[a] /= n1;
    double p = dot3(u2, u1);
    for (int a = 0; a < 3; a++) u2[a] -= p * u1[a];
    double n2 = sqrt(dot3(u2, u2));
    if (n2 < 1e-12 * n1) { /* rank one: any direction perpendicular to u1 */
        double e[3] = {0, 0, 0};
        e[fabs(u1[0]) < 0.6 ? 0 : 1] = 1.0;
        double q = dot3(e, u1);
        for (int a = 0; a < 3; a++) u2[a] = e[a] - q * u1[a];
        n2 = sqrt(dot3(u2, u2));
    }
    for (int a = 0; a < 3; a++) u2[a] /= n2;
    cross3(u1, u2, u3);
    double s = (double)d * (det3(v) < 0 ? -1.0 : 1.0);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) r[3 * a + b] = u1[a] * v1[b] + u2[a] * v2[b] + s * u3[a] * v3[b];
}

typedef struct {
    int64_t n;
    const double *x;
    const int64_t *types;
    int64_t *order;  /* atoms sorted by type, ascending index within a type */
    int64_t *start;  /* for atom i, the first position in order of its type */
    int64_t *count;  /* for atom i, how many atoms share its type */
} Atoms;

/* Nearest atom of the same type to each image R x_i; 0 when some atom has none within reach or
 * two atoms share a partner (the map is not a permutation). */
static int match(const Atoms *at, const double *r, double reach, int32_t *perm, int32_t *seen, int32_t stamp, double *maxd) {
    double worst = 0.0, reach2 = reach * reach;
    for (int64_t i = 0; i < at->n; i++) {
        const double *xi = at->x + 3 * i;
        double y0 = r[0] * xi[0] + r[1] * xi[1] + r[2] * xi[2];
        double y1 = r[3] * xi[0] + r[4] * xi[1] + r[5] * xi[2];
        double y2 = r[6] * xi[0] + r[7] * xi[1] + r[8] * xi[2];
        double best = INFINITY;
        int64_t bj = -1;
        const int64_t *cand = at->order + at->start[i];
        for (int64_t c = 0; c < at->count[i]; c++) {
            int64_t j = cand[c];
            const double *xj = at->x + 3 * j;
            double dx = y0 - xj[0], dy = y1 - xj[1], dz = y2 - xj[2];
            double d2 = dx * dx + dy * dy + dz * dz;
            if (d2 < best) { best = d2; bj = j; }
        }
        if (!(best < reach2) || seen[bj] == stamp) return 0;
        seen[bj] = stamp;
        perm[i] = (int32_t)bj;
        if (best > worst) worst = best;
    }
    *maxd = sqrt(worst);
    return 1;
}

static double displacement(int64_t n, const double *x, const double *r, const int32_t *perm) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *xi = x + 3 * i, *y = x + 3 * perm[i];
        double e0 = r[0] * xi[0] + r[1] * xi[1] + r[2] * xi[2] - y[0];
        double e1 = r[3] * xi[0] + r[4] * xi[1] + r[5] * xi[2] - y[1];
        double e2 = r[6] * xi[0] + r[7] * xi[1] + r[8] * xi[2] - y[2];
        double d2 = e0 * e0 + e1 * e1 + e2 * e2;
        if (d2 > worst) worst = d2;
    }
    return sqrt(worst);
}

/* Right-handed frame (columns) from u and v; 0 when v is parallel to u. */
static int frame(const double *u, const double *v, double *f) {
    double nu = sqrt(dot3(u, u));
    double e1[3] = {u[0] / nu, u[1] / nu, u[2] / nu};
    double p = dot3(v, e1);
    double w[3] = {v[0] - p * e1[0], v[1] - p * e1[1], v[2] - p * e1[2]};
    double nw = sqrt(dot3(w, w));
    if (!(nw > 1e-12)) return 0;
    double e2[3] = {w[0] / nw, w[1] / nw, w[2] / nw}, e3[3];
    cross3(e1, e2, e3);
    for (int a = 0; a < 3; a++) { f[3 * a] = e1[a]; f[3 * a + 1] = e2[a]; f[3 * a + 2] = e3[a]; }
    return 1;
}

static uint64_t hash_perm(int64_t n, const int32_t *p, int det) {
    uint64_t h = 1469598103934665603ULL;
    for (int64_t i = 0; i < n; i++) h = (h ^ (uint64_t)(uint32_t)p[i]) * 1099511628211ULL;
    return h * 2 + (det > 0);
}

static int cmp_row(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The no-symmetry shortcut of _detect._only_identity (see its docstring). */
static int only_identity(int64_t n, const double *x, const int64_t *types, const double *r, double tol,
                         const double *dist, const double *normal) {
    int64_t tmin = types[0];
    double dmax = 0.0;
    for (int64_t i = 0; i < n; i++) if (types[i] < tmin) tmin = types[i];
    for (int64_t i = 0; i < n * n; i++) if (dist[i] > dmax) dmax = dist[i];
    double step = 4.0 * dmax + 1.0;
    double *blocks = NULL;
    int any = 0;
    for (int64_t i = 0; i < n && !any; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (types[i] == types[j] && fabs(r[i] - r[j]) <= tol) { any = 1; break; }
    if (any) {
        blocks = (double *)malloc(sizeof(double) * n * n);
        if (!blocks) return 0;
        for (int64_t i = 0; i < n; i++) {
            for (int64_t j = 0; j < n; j++) blocks[n * i + j] = dist[n * i + j] + (double)(types[j] - tmin) * step;
            qsort(blocks + n * i, n, sizeof(double), cmp_row);
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) {
                if (types[i] != types[j] || fabs(r[i] - r[j]) > tol) continue;
                double worst = 0.0;
                for (int64_t k = 0; k < n; k++) {
                    double e = fabs(blocks[n * i + k] - blocks[n * j + k]);
                    if (e > worst) worst = e;
                }
                if (worst <= 2.0 * tol) { free(blocks); return 0; }
            }
        free(blocks);
    }
    double out = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double h = fabs(dot3(x + 3 * i, normal));
        if (h > out) out = h;
    }
    return n > 2 && 2.0 * out > tol;
}

/* Index minimising (key, -value) lexicographically over the atoms with mask set, the values
 * compared to 1e-8 (as numpy.round(value, 8): equivalent atoms tie, the first index wins). */
static int64_t pick(int64_t n, const int64_t *key, const double *value, const unsigned char *mask) {
    int64_t best = -1;
    double vb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!mask[i]) continue;
        double v = nearbyint(value[i] * 1e8) / 1e8;
        if (best < 0 || key[i] < key[best] || (key[i] == key[best] && v > vb)) { best = i; vb = v; }
    }
    return best;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a < 0 ? -a : a;
}

/* Conjugacy type (det, m, j) of each operation, as groups._matrices.element_types(atol=0.3). */
static void element_types(int64_t k, const double *rots, int64_t *out) {
    const double two_pi = 6.283185307179586;
    for (int64_t g = 0; g < k; g++) {
        const double *m = rots + 9 * g;
        int64_t det = det3(m) < 0 ? -1 : 1;
        double tr = (m[0] + m[4] + m[8]) * (double)det;
        double c = (tr - 1.0) / 2.0;
        c = c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
        double theta = acos(c);
        int64_t steps = (int64_t)llround(theta * (double)k / two_pi);
        double off = fabs(theta - two_pi * (double)steps / (double)k);
        int64_t order = k / gcd64(steps, k);
        int64_t j = steps * order / k;
        double lim = 0.15 < 3.141592653589793 / (double)k ? 0.15 : 3.141592653589793 / (double)k;
        if (off > lim) order = 0;
        out[3 * g] = det;
        out[3 * g + 1] = order;
        out[3 * g + 2] = j;
    }
}

/* Pairwise distances (n x n) and the closest pair; returns the smallest distance. */
double sb_distances(int64_t n, const double *pos, double *dist, int64_t *pair) {
    double best = INFINITY;
    pair[0] = pair[1] = -1;
    for (int64_t i = 0; i < n; i++) {
        dist[n * i + i] = 0.0;
        for (int64_t j = i + 1; j < n; j++) {
            double dx = pos[3 * i] - pos[3 * j], dy = pos[3 * i + 1] - pos[3 * j + 1], dz = pos[3 * i + 2] - pos[3 * j + 2];
            double d = sqrt(dx * dx + dy * dy + dz * dz);
            dist[n * i + j] = dist[n * j + i] = d;
            if (d < best) { best = d; pair[0] = i; pair[1] = j; }
        }
    }
    return best;
}

/* Detect the operations of the centred structure x (n x 3) at tolerance tol (Å).
 * Returns SB_LINEAR (axis in axis_out), 0 (the identity alone), k > 0 (a closed set of k
 * operations), SB_OPEN_BASE - k (k operations that do not close: the caller closes them),
 * SB_OVERFLOW (more than cap operations) or SB_NOMEM. */
int64_t sb_detect(int64_t n, const double *x, const int64_t *types, double tol, double dmin, const double *dist,
                  int64_t shortcut, int64_t cap, double *fout, int64_t *iout) {
    /* outputs: fout = axis (3) | rotations (cap x 9) | residuals (cap);
     * iout = summary (8) | permutations (cap x n) | dets (cap) | element types (cap x 3) */
    double *axis_out = fout, *rots_out = fout + 3, *disp_out = fout + 3 + 9 * cap;
    int64_t *summary = iout, *perms_out = iout + 8, *dets_out = iout + 8 + cap * n, *types_out = iout + 8 + cap * n + cap;
    /* the linear test: spread off the principal axis */
    double cov[9] = {0}, w[3], v[9];
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) cov[3 * a + b] += x[3 * i + a] * x[3 * i + b];
    eig3(cov, w, v);
    double axis[3] = {v[0], v[3], v[6]}, normal[3] = {v[2], v[5], v[8]};
    double off = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *xi = x + 3 * i;
        double p = dot3(xi, axis);
        double e0 = xi[0] - p * axis[0], e1 = xi[1] - p * axis[1], e2 = xi[2] - p * axis[2];
        double d2 = e0 * e0 + e1 * e1 + e2 * e2;
        if (d2 > off) off = d2;
    }
    memcpy(axis_out, axis, sizeof axis);
    if (sqrt(off) <= tol) return SB_LINEAR;

    double tol2 = tol * (1.0 + 1e-9) + 1e-12;
    double *r = (double *)malloc(sizeof(double) * n);
    if (!r) return SB_NOMEM;
    for (int64_t i = 0; i < n; i++) r[i] = sqrt(dot3(x + 3 * i, x + 3 * i));
    if (shortcut && only_identity(n, x, types, r, tol, dist, normal)) { free(r); return 0; }

    int64_t result = 0;
    int64_t *ibuf = (int64_t *)malloc(sizeof(int64_t) * 5 * n);
    unsigned char *mask = (unsigned char *)malloc(n);
    int32_t *perm = (int32_t *)malloc(sizeof(int32_t) * 2 * n), *seen = (int32_t *)calloc(n, sizeof(int32_t));
    int32_t *kept = (int32_t *)malloc(sizeof(int32_t) * cap * n);
    uint64_t *hashes = (uint64_t *)malloc(sizeof(uint64_t) * (cap > 0 ? cap : 1));
    if (!ibuf || !mask || !perm || !seen || !kept || !hashes) { result = SB_NOMEM; goto done; }
    int64_t *count = ibuf, *partners = ibuf + n, *order = ibuf + 2 * n, *start = ibuf + 3 * n, *tcount = ibuf + 4 * n;
    double *perp = (double *)malloc(sizeof(double) * n);
    if (!perp) { result = SB_NOMEM; goto done; }

    /* atoms grouped by type, for matching */
    {
        int64_t m = 0;
        unsigned char *done_t = (unsigned char *)calloc(n, 1);
        if (!done_t) { free(perp); result = SB_NOMEM; goto done; }
        for (int64_t i = 0; i < n; i++) {
            if (done_t[i]) continue;
            int64_t s = m;
            for (int64_t j = i; j < n; j++)
                if (!done_t[j] && types[j] == types[i]) { order[m++] = j; done_t[j] = 1; }
            for (int64_t c = s; c < m; c++) { start[order[c]] = s; tcount[order[c]] = m - s; }
        }
        free(done_t);
    }
    Atoms at = {n, x, types, order, start, tcount};

    /* base atoms a and b (as _operations._base_pair) */
    double rmax = 0.0;
    for (int64_t i = 0; i < n; i++) if (r[i] > rmax) rmax = r[i];
    for (int64_t i = 0; i < n; i++) {
        int64_t c = 0;
        for (int64_t j = 0; j < n; j++) c += types[i] == types[j] && fabs(r[i] - r[j]) <= tol2;
        count[i] = c;
        mask[i] = r[i] >= 0.5 * rmax;
    }
    int64_t a = pick(n, count, r, mask);
    double ua[3] = {x[3 * a] / r[a], x[3 * a + 1] / r[a], x[3 * a + 2] / r[a]}, pmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *xi = x + 3 * i;
        double p = dot3(xi, ua);
        double e0 = xi[0] - p * ua[0], e1 = xi[1] - p * ua[1], e2 = xi[2] - p * ua[2];
        perp[i] = sqrt(e0 * e0 + e1 * e1 + e2 * e2);
        if (perp[i] > pmax) pmax = perp[i];
    }
    const double *da = dist + n * a;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = 0;
        for (int64_t j = 0; j < n; j++)
            c += types[i] == types[j] && fabs(r[i] - r[j]) <= tol2 && fabs(da[j] - da[i]) <= 2 * tol2;
        partners[i] = c;
        mask[i] = perp[i] >= 0.5 * pmax;
    }
    int64_t b = pick(n, partners, perp, mask);
    free(perp);
    double fref[9], fimg[9], base[9], rot[9], flip_base[9];
    frame(x + 3 * a, x + 3 * b, fref);
    double dab = dist[n * a + b];
    double reach = dmin / 2 > tol2 ? dmin / 2 : tol2;
    int64_t k = 0;
    int32_t stamp = 0;
    int32_t *p2 = perm + n;
    for (int det = 1; det >= -1; det -= 2) {
        for (int64_t ap = 0; ap < n; ap++) {
            if (!(types[ap] == types[a] && fabs(r[ap] - r[a]) <= tol2)) continue;
            for (int64_t bp = 0; bp < n; bp++) {
                if (!(types[bp] == types[b] && fabs(r[bp] - r[b]) <= tol2 && fabs(dist[n * ap + bp] - dab) <= 2 * tol2)) continue;
                if (!frame(x + 3 * ap, x + 3 * bp, fimg)) continue;
                /* R = F_img diag(1, 1, det) F_ref^T */
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                        base[3 * i + j] = fimg[3 * i] * fref[3 * j] + fimg[3 * i + 1] * fref[3 * j + 1] + det * fimg[3 * i + 2] * fref[3 * j + 2];
                double maxd;
                if (!match(&at, base, reach, perm, seen, ++stamp, &maxd)) continue;
                procrustes(n, x, perm, det, rot);
                double disp = displacement(n, x, rot, perm);
                if (disp > tol2) { /* one ICP step from the refined rotation */
                    memcpy(flip_base, rot, sizeof rot);
                    if (match(&at, flip_base, reach, p2, seen, ++stamp, &maxd)) {
                        memcpy(perm, p2, sizeof(int32_t) * n);
                        procrustes(n, x, perm, det, rot);
                        disp = displacement(n, x, rot, perm);
                    }
                }
                if (disp > tol2) continue;
                uint64_t h = hash_perm(n, perm, det);
                int dup = 0;
                for (int64_t g = 0; g < k && !dup; g++)
                    dup = hashes[g] == h && dets_out[g] == det && memcmp(kept + g * n, perm, sizeof(int32_t) * n) == 0;
                if (dup) continue;
                if (k == cap) { result = SB_OVERFLOW; goto done; }
                hashes[k] = h;
                dets_out[k] = det;
                disp_out[k] = disp;
                memcpy(rots_out + 9 * k, rot, sizeof rot);
                memcpy(kept + k * n, perm, sizeof(int32_t) * n);
                k++;
            }
        }
    }
    for (int64_t g = 0; g < k * n; g++) perms_out[g] = kept[g];
    /* closed under composition? (p1 o p2)[i] = p1[p2[i]] */
    int closed = 1;
    for (int64_t g1 = 0; g1 < k && closed; g1++) {
        for (int64_t g2 = 0; g2 < k && closed; g2++) {
            const int32_t *q1 = kept + g1 * n, *q2 = kept + g2 * n;
            for (int64_t i = 0; i < n; i++) p2[i] = q1[q2[i]];
            int d = (int)(dets_out[g1] * dets_out[g2]);
            uint64_t h = hash_perm(n, p2, d);
            int found = 0;
            for (int64_t g = 0; g < k && !found; g++)
                found = hashes[g] == h && dets_out[g] == d && memcmp(kept + g * n, p2, sizeof(int32_t) * n) == 0;
            closed = found;
        }
    }
    if (closed) {
        /* what naming needs: proper count h, largest proper order, largest order of det(R) R, inversion */
        element_types(k, rots_out, types_out);
        int64_t h = 0, hn = 0, kn = 0, inv = 0, bad = 0;
        for (int64_t g = 0; g < k; g++) {
            int64_t d = types_out[3 * g], m = types_out[3 * g + 1];
            if (d > 0) { h++; if (m > hn) hn = m; }
            if (m > kn) kn = m;
            inv |= d < 0 && m == 1;
            bad |= m == 0;
        }
        summary[0] = h; summary[1] = hn; summary[2] = kn; summary[3] = inv; summary[4] = bad;
    }
    result = closed ? k : SB_OPEN_BASE - k;
done:
    free(r);
    free(ibuf);
    free(mask);
    free(perm);
    free(seen);
    free(kept);
    free(hashes);
    return result;
}
