/*
 * chainbreaker.readers._evtxflat: the EVTX record flattening of readers/evtx.py, compiled.
 *
 * Why C, written by hand: ingest spent most of its time turning each record's JSON (what the evtx
 * package's records_json() yields) into Python objects with orjson and then walking those objects
 * in Python to get flat (names, values) lists (docs/BENCHMARKS.md, "Ingest"). No library does this
 * flattening: Polars' read_ndjson / json_decode fail because values change type between records
 * (EventID is a number in one record and {"#attributes": ..., "#text": 11} in another), and the
 * Sigma-style names (Provider_Name, TimeCreated, UserData leaves by leaf name) are ours. So this
 * module parses the JSON text itself and emits the flat lists directly, with no intermediate dicts.
 *
 * Contract: for every record it accepts, the output is EXACTLY what
 *     event = orjson.loads(data).get("Event") or {}
 *     keys = [FILE, RECORD]; values = [name, (event.get("System") or {}).get("EventRecordID", rid)]
 *     windows_fields.flatten_event(event, keys, values)
 * produces. Anything unusual (invalid JSON, duplicate keys, escapes in keys, lone surrogates,
 * integers outside [-2**63, 2**64 - 1] (orjson makes floats of them), floats that overflow,
 * nesting deeper than MAX_DEPTH, shapes the Python code would fail on) is not handled here:
 * flatten() returns None and fill() calls the Python fallback for that record, so behaviour,
 * errors included, stays that of the Python path.
 *
 * The parser is a strict recursive-descent JSON parser (RFC 8259) into a flat node array reused
 * between records; member names are interned once in a table keyed by their UTF-8 bytes, so the
 * ~30 names of a record are never re-created and equal names are the same object.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#endif

#define MAX_DEPTH 64
#define MAX_KEYS (1 << 16)      /* interned names kept at most; past that records fall back */
#define MAX_SIGNATURES 8192     /* field-list tuples kept at most; past that they are rebuilt */

enum { N_NULL, N_FALSE, N_TRUE, N_INT, N_FLOAT, N_STR, N_ARR, N_OBJ };

/* Results of the internal functions: OK, FALLBACK (no Python error set), ERROR (Python error set). */
enum { OK = 0, FALLBACK = -1, ERROR = -2 };

typedef struct {
    const char *s;    /* string: first byte after the quote; number: first character */
    Py_ssize_t n;     /* raw length (string without quotes) */
    PyObject *key;    /* interned member name (borrowed from the key table), inside an object */
    const char *ks;   /* member name bytes */
    Py_ssize_t kn;
    int32_t child;    /* first element / member, -1 */
    int32_t next;     /* next sibling, -1 */
    uint8_t type;
    uint8_t esc;      /* string holds escapes */
} Node;

/* ---- state shared by all calls (the GIL serialises them) ---------------------------------- */

static Node *nodes;
static Py_ssize_t nodes_len, nodes_cap;
static char *scratch;             /* decoded escapes, composed attribute names */
static Py_ssize_t scratch_cap;
static PyObject **out_keys;       /* borrowed interned names of the record being flattened */
static Py_ssize_t out_len, out_cap;

typedef struct {
    uint64_t hash;
    char *bytes;
    Py_ssize_t n;
    PyObject *obj;
} KeyEntry;
static KeyEntry *key_table;
static Py_ssize_t key_cap, key_count;

typedef struct {
    uint64_t hash;
    PyObject *tuple;
} SigEntry;
static SigEntry *sig_table;
static Py_ssize_t sig_cap, sig_count;

static PyObject *k_file, *k_record, *k_event, *k_system, *k_text, *k_attributes, *k_erid, *k_channel;
static PyObject *a_groups, *a_rows, *a_data, *a_rid;

static const char *attribute_map[][3] = {
    {"TimeCreated", "SystemTime", "TimeCreated"},
    {"Execution", "ProcessID", "ExecutionProcessID"},
    {"Execution", "ThreadID", "ThreadID"},
    {"Security", "UserID", "SecurityUserID"},
    {"Correlation", "ActivityID", "ActivityID"},
    {"Correlation", "RelatedActivityID", "RelatedActivityID"},
};

/* ---- growable buffers ---------------------------------------------------------------------- */

static int reserve(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item) {
    if (need <= *cap)
        return OK;
    Py_ssize_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *grown = PyMem_Realloc(*buf, (size_t)cap2 * item);
    if (!grown) {
        PyErr_NoMemory();
        return ERROR;
    }
    *buf = grown;
    *cap = cap2;
    return OK;
}

/* Column buffers use the raw allocator: Arrow consumers free them from any thread, GIL or not. */
static int reserve_raw(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item) {
    if (need <= *cap)
        return OK;
    Py_ssize_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *grown = PyMem_RawRealloc(*buf, (size_t)cap2 * item);
    if (!grown) {
        PyErr_NoMemory();
        return ERROR;
    }
    *buf = grown;
    *cap = cap2;
    return OK;
}

/* ---- interned member names ----------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int key_grow(void) {
    Py_ssize_t cap2 = key_cap ? key_cap * 2 : 1024;
    KeyEntry *table = PyMem_Calloc((size_t)cap2, sizeof(KeyEntry));
    if (!table) {
        PyErr_NoMemory();
        return ERROR;
    }
    for (Py_ssize_t i = 0; i < key_cap; i++) {
        if (!key_table[i].obj)
            continue;
        Py_ssize_t j = (Py_ssize_t)(key_table[i].hash & (uint64_t)(cap2 - 1));
        while (table[j].obj)
            j = (j + 1) & (cap2 - 1);
        table[j] = key_table[i];
    }
    PyMem_Free(key_table);
    key_table = table;
    key_cap = cap2;
    return OK;
}

/* The interned str for these UTF-8 bytes (borrowed), or NULL: FALLBACK when the table is full, or
 * a Python error (check PyErr_Occurred). */
static PyObject *intern_key(const char *s, Py_ssize_t n) {
    uint64_t h = hash_bytes(s, n);
    Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(key_cap - 1));
    while (key_table[j].obj) {
        KeyEntry *e = &key_table[j];
        if (e->hash == h && e->n == n && memcmp(e->bytes, s, (size_t)n) == 0)
            return e->obj;
        j = (j + 1) & (key_cap - 1);
    }
    if (key_count >= MAX_KEYS)
        return NULL;
    PyObject *obj = PyUnicode_DecodeUTF8(s, n, "strict");
    if (!obj)
        return NULL;
    PyUnicode_InternInPlace(&obj);
    char *copy = PyMem_Malloc((size_t)n + 1);
    if (!copy) {
        Py_DECREF(obj);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, s, (size_t)n);
    key_table[j].hash = h;
    key_table[j].bytes = copy;
    key_table[j].n = n;
    key_table[j].obj = obj; /* owned by the table for the life of the process */
    key_count++;
    if (key_count * 2 > key_cap && key_grow() != OK)
        return NULL;
    return obj;
}

/* ---- parser -------------------------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
} Parser;

/* 1 for the bytes that end the fast scan of a string: '"', '\\' and control characters. */
static uint8_t special[256];

static inline void skip_ws(Parser *P) {
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\n' || *P->p == '\r' || *P->p == '\t'))
        P->p++;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return FALLBACK;
    }
    *out = v;
    return OK;
}

/* P->p on the opening quote; validates the string (escapes, surrogate pairs, no control bytes). */
static int parse_string(Parser *P, const char **s, Py_ssize_t *n, uint8_t *esc) {
    const char *p = P->p + 1, *end = P->end;
    *s = p;
    *esc = 0;
    for (;;) {
        while (p < end && !special[(unsigned char)*p])
            p++;
        if (p >= end)
            return FALLBACK;
        if (*p == '"')
            break;
        if (*p != '\\')
            return FALLBACK; /* a raw control character */
        *esc = 1;
        if (p + 1 >= end)
            return FALLBACK;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u': {
            unsigned u = 0, lo = 0;
            if (end - p < 6 || hex4(p + 2, &u) != OK)
                return FALLBACK;
            p += 6;
            if (u >= 0xDC00 && u <= 0xDFFF)
                return FALLBACK; /* lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != OK)
                    return FALLBACK;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return FALLBACK;
                p += 6;
            }
            break;
        }
        default:
            return FALLBACK;
        }
    }
    *n = p - *s;
    P->p = p + 1;
    return OK;
}

static int parse_number(Parser *P, uint8_t *type) {
    const char *p = P->p, *end = P->end;
    int is_float = 0;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return FALLBACK;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return FALLBACK;
    }
    if (p < end && *p == '.') {
        is_float = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return FALLBACK;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_float = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return FALLBACK;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (!is_float) {
        /* orjson reads integers in [-2**63, 2**64 - 1] as int and others as float: only the first */
        int negative = *P->p == '-';
        const char *digits = P->p + negative;
        const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
        Py_ssize_t n = p - digits, max = (Py_ssize_t)strlen(limit);
        if (n > max || (n == max && memcmp(digits, limit, (size_t)n) > 0))
            return FALLBACK;
    }
    *type = is_float ? N_FLOAT : N_INT;
    P->p = p;
    return OK;
}

static int32_t new_node(uint8_t type) {
    if (reserve((void **)&nodes, &nodes_cap, nodes_len + 1, sizeof(Node)) != OK)
        return ERROR;
    Node *x = &nodes[nodes_len];
    memset(x, 0, sizeof(Node));
    x->type = type;
    x->child = x->next = -1;
    return (int32_t)nodes_len++;
}

/* A node index (>= 0), FALLBACK or ERROR. */
static int32_t parse_value(Parser *P, int depth) {
    if (depth > MAX_DEPTH)
        return FALLBACK;
    skip_ws(P);
    if (P->p >= P->end)
        return FALLBACK;
    char c = *P->p;
    int32_t at;
    if (c == '"') {
        const char *s;
        Py_ssize_t n;
        uint8_t esc;
        if (parse_string(P, &s, &n, &esc) != OK)
            return FALLBACK;
        if ((at = new_node(N_STR)) < 0)
            return at;
        nodes[at].s = s;
        nodes[at].n = n;
        nodes[at].esc = esc;
        return at;
    }
    if (c == '{' || c == '[') {
        int obj = c == '{';
        if ((at = new_node(obj ? N_OBJ : N_ARR)) < 0)
            return at;
        P->p++;
        skip_ws(P);
        if (P->p < P->end && *P->p == (obj ? '}' : ']')) {
            P->p++;
            return at;
        }
        int32_t last = -1;
        for (;;) {
            PyObject *key = NULL;
            const char *ks = NULL;
            Py_ssize_t kn = 0;
            if (obj) {
                uint8_t esc;
                skip_ws(P);
                if (P->p >= P->end || *P->p != '"' || parse_string(P, &ks, &kn, &esc) != OK || esc)
                    return FALLBACK;
                key = intern_key(ks, kn);
                if (!key)
                    return PyErr_Occurred() ? ERROR : FALLBACK;
                for (int32_t i = nodes[at].child; i >= 0; i = nodes[i].next)
                    if (nodes[i].key == key)
                        return FALLBACK; /* duplicate name */
                skip_ws(P);
                if (P->p >= P->end || *P->p != ':')
                    return FALLBACK;
                P->p++;
            }
            int32_t child = parse_value(P, depth + 1);
            if (child < 0)
                return child;
            nodes[child].key = key;
            nodes[child].ks = ks;
            nodes[child].kn = kn;
            if (last < 0)
                nodes[at].child = child;
            else
                nodes[last].next = child;
            last = child;
            skip_ws(P);
            if (P->p >= P->end)
                return FALLBACK;
            if (*P->p == ',') {
                P->p++;
                continue;
            }
            if (*P->p == (obj ? '}' : ']')) {
                P->p++;
                return at;
            }
            return FALLBACK;
        }
    }
    if (c == 't' || c == 'f' || c == 'n') {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        Py_ssize_t len = (Py_ssize_t)strlen(word);
        if (P->end - P->p < len || memcmp(P->p, word, (size_t)len) != 0)
            return FALLBACK;
        P->p += len;
        return new_node(c == 't' ? N_TRUE : c == 'f' ? N_FALSE : N_NULL);
    }
    uint8_t type;
    const char *start = P->p;
    if (parse_number(P, &type) != OK)
        return FALLBACK;
    if ((at = new_node(type)) < 0)
        return at;
    nodes[at].s = start;
    nodes[at].n = P->p - start;
    return at;
}

/* ---- values as text (windows_fields.text), written as UTF-8 into the record's value arena ---- */

typedef struct {
    Py_ssize_t off, len;
    int null; /* text() gave None */
} Val;
static char *arena;
static Py_ssize_t arena_len, arena_cap;
static Val *vals; /* parallel to out_keys */
static Py_ssize_t vals_cap;
static PyObject *record_obj; /* the record's RECORD value (values[1]), owned */

static int arena_put(const char *s, Py_ssize_t n) {
    if (reserve((void **)&arena, &arena_cap, arena_len + n, 1) != OK)
        return ERROR;
    memcpy(arena + arena_len, s, (size_t)n);
    arena_len += n;
    return OK;
}

static void put_utf8(char **q, unsigned u) {
    char *o = *q;
    if (u < 0x80) {
        *o++ = (char)u;
    } else if (u < 0x800) {
        *o++ = (char)(0xC0 | (u >> 6));
        *o++ = (char)(0x80 | (u & 0x3F));
    } else if (u < 0x10000) {
        *o++ = (char)(0xE0 | (u >> 12));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (u >> 18));
        *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
        *o++ = (char)(0x80 | (u & 0x3F));
    }
    *q = o;
}

/* A validated string node, unescaped (decoded UTF-8 is never longer than the escaped text). */
static int write_string(const Node *x) {
    if (!x->esc)
        return arena_put(x->s, x->n);
    if (reserve((void **)&arena, &arena_cap, arena_len + x->n, 1) != OK)
        return ERROR;
    const char *p = x->s, *end = x->s + x->n;
    char *q = arena + arena_len;
    while (p < end) {
        if (*p != '\\') {
            *q++ = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case 'b': *q++ = '\b'; break;
        case 'f': *q++ = '\f'; break;
        case 'n': *q++ = '\n'; break;
        case 'r': *q++ = '\r'; break;
        case 't': *q++ = '\t'; break;
        case 'u': {
            unsigned u = 0, lo = 0;
            hex4(p, &u);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                hex4(p + 2, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&q, u);
            break;
        }
        default: *q++ = e; break; /* " \ / */
        }
    }
    arena_len = q - arena;
    return OK;
}

/* Python's str(float): FALLBACK for an overflow (orjson rejects it). */
static int write_float(const Node *x) {
    char buf[128];
    if (x->n >= (Py_ssize_t)sizeof(buf))
        return FALLBACK;
    memcpy(buf, x->s, (size_t)x->n);
    buf[x->n] = 0;
    double d = PyOS_string_to_double(buf, NULL, NULL);
    if (d == -1.0 && PyErr_Occurred())
        return ERROR;
    if (isinf(d))
        return FALLBACK;
    PyObject *f = PyFloat_FromDouble(d);
    if (!f)
        return ERROR;
    PyObject *s = PyObject_Str(f);
    Py_DECREF(f);
    if (!s)
        return ERROR;
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    int rc = u ? arena_put(u, n) : ERROR;
    Py_DECREF(s);
    return rc;
}

static int32_t member(int32_t obj, PyObject *key) {
    for (int32_t i = nodes[obj].child; i >= 0; i = nodes[i].next)
        if (nodes[i].key == key)
            return i;
    return -1;
}

/* Appends text(value) to the arena; *null = 1 when text() is None (nothing written). */
static int write_text(int32_t at, int *null) {
    const Node *x = &nodes[at];
    *null = 0;
    switch (x->type) {
    case N_STR: return write_string(x);
    case N_NULL: *null = 1; return OK;
    case N_TRUE: return arena_put("true", 4);
    case N_FALSE: return arena_put("false", 5);
    case N_INT:
        if (x->n == 2 && x->s[0] == '-' && x->s[1] == '0')
            return arena_put("0", 1);
        return arena_put(x->s, x->n);
    case N_FLOAT: return write_float(x);
    case N_OBJ: {
        int32_t t = member(at, k_text);
        if (t < 0) {
            *null = 1;
            return OK;
        }
        return write_text(t, null);
    }
    default: { /* N_ARR: ", ".join of the texts that are not None */
        int first = 1, rc, item_null;
        for (int32_t i = x->child; i >= 0; i = nodes[i].next) {
            Py_ssize_t mark = arena_len;
            if (!first && (rc = arena_put(", ", 2)) != OK)
                return rc;
            if ((rc = write_text(i, &item_null)) != OK)
                return rc;
            if (item_null)
                arena_len = mark;
            else
                first = 0;
        }
        return OK;
    }
    }
}

/* ---- flattening (windows_fields.flatten_event) --------------------------------------------- */

static int emit(PyObject *key, int32_t at) {
    if (reserve((void **)&out_keys, &out_cap, out_len + 1, sizeof(PyObject *)) != OK ||
        reserve((void **)&vals, &vals_cap, out_len + 1, sizeof(Val)) != OK)
        return ERROR;
    Val *v = &vals[out_len];
    v->off = arena_len;
    int rc = write_text(at, &v->null);
    if (rc != OK)
        return rc;
    v->len = arena_len - v->off;
    out_keys[out_len++] = key;
    return OK;
}

static PyObject *attribute_name(const Node *element, const Node *attr) {
    for (size_t i = 0; i < sizeof(attribute_map) / sizeof(attribute_map[0]); i++) {
        const char **m = attribute_map[i];
        if ((Py_ssize_t)strlen(m[0]) == element->kn && (Py_ssize_t)strlen(m[1]) == attr->kn &&
            memcmp(m[0], element->ks, (size_t)element->kn) == 0 &&
            memcmp(m[1], attr->ks, (size_t)attr->kn) == 0)
            return intern_key(m[2], (Py_ssize_t)strlen(m[2]));
    }
    Py_ssize_t n = element->kn + 1 + attr->kn;
    if (reserve((void **)&scratch, &scratch_cap, n, 1) != OK)
        return NULL;
    memcpy(scratch, element->ks, (size_t)element->kn);
    scratch[element->kn] = '_';
    memcpy(scratch + element->kn + 1, attr->ks, (size_t)attr->kn);
    return intern_key(scratch, n);
}

static int flatten_system(int32_t system) {
    int rc;
    for (int32_t i = nodes[system].child; i >= 0; i = nodes[i].next) {
        const Node *x = &nodes[i];
        if (x->type == N_NULL)
            continue;
        if (x->type != N_OBJ) {
            if ((rc = emit(x->key, i)) != OK)
                return rc;
            continue;
        }
        int32_t t = member(i, k_text);
        if (t >= 0 && (rc = emit(x->key, t)) != OK)
            return rc;
        int32_t attrs = member(i, k_attributes);
        if (attrs < 0 || nodes[attrs].type == N_NULL)
            continue;
        if (nodes[attrs].type != N_OBJ)
            return FALLBACK; /* the Python path raises on a non-empty one */
        for (int32_t a = nodes[attrs].child; a >= 0; a = nodes[a].next) {
            PyObject *name = attribute_name(&nodes[i], &nodes[a]);
            if (!name)
                return PyErr_Occurred() ? ERROR : FALLBACK;
            if ((rc = emit(name, a)) != OK)
                return rc;
        }
    }
    return OK;
}

static int flatten_data(int32_t body) {
    int rc = OK;
    for (int32_t i = nodes[body].child; i >= 0 && rc == OK; i = nodes[i].next) {
        const Node *x = &nodes[i];
        if (x->type == N_NULL)
            continue;
        if (x->type != N_OBJ) {
            rc = emit(x->key, i);
            continue;
        }
        int32_t t = member(i, k_text);
        if (t >= 0)
            rc = emit(x->key, t);
        else if (x->key != k_attributes)
            rc = flatten_data(i);
    }
    return rc;
}

static int record_id(int32_t at, PyObject **out) {
    const Node *x = &nodes[at];
    if (x->type != N_INT)
        return FALLBACK;
    if (x->n > 18) { /* up to 2**64 - 1 */
        char buf[32];
        memcpy(buf, x->s, (size_t)x->n);
        buf[x->n] = 0;
        *out = PyLong_FromString(buf, NULL, 10);
        return *out ? OK : ERROR;
    }
    long long v = 0;
    const char *p = x->s, *end = x->s + x->n;
    int negative = *p == '-';
    if (negative)
        p++;
    for (; p < end; p++)
        v = v * 10 + (*p - '0');
    *out = PyLong_FromLongLong(negative ? -v : v);
    return *out ? OK : ERROR;
}

/* Flattens one record: names in out_keys[2:] (borrowed), texts in vals[2:] over the arena, the
 * RECORD value in record_obj (owned). OK, FALLBACK or ERROR. */
static int flatten(PyObject *data, PyObject *rid) {
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(data, &size);
    Py_CLEAR(record_obj);
    if (!text) {
        PyErr_Clear(); /* lone surrogates: let the Python path decide */
        return FALLBACK;
    }
    Parser P = {text, text + size};
    nodes_len = 0;
    int32_t root = parse_value(&P, 0);
    if (root < 0)
        return root;
    skip_ws(&P);
    if (P.p != P.end || nodes[root].type != N_OBJ)
        return FALLBACK;
    int32_t event = member(root, k_event);
    if (event >= 0 && nodes[event].type == N_NULL)
        event = -1;
    if (event >= 0 && nodes[event].type != N_OBJ)
        return FALLBACK;
    int32_t system = event >= 0 ? member(event, k_system) : -1;
    if (system >= 0 && nodes[system].type == N_NULL)
        system = -1;
    if (system >= 0 && nodes[system].type != N_OBJ)
        return FALLBACK;
    int32_t erid = system >= 0 ? member(system, k_erid) : -1;
    if (erid >= 0) {
        int rc = record_id(erid, &record_obj);
        if (rc != OK)
            return rc;
    } else {
        Py_INCREF(rid);
        record_obj = rid;
    }
    if (reserve((void **)&out_keys, &out_cap, 64, sizeof(PyObject *)) != OK ||
        reserve((void **)&vals, &vals_cap, 64, sizeof(Val)) != OK)
        return ERROR;
    out_keys[0] = k_file;
    out_keys[1] = k_record;
    out_len = 2;
    arena_len = 0;
    int rc = OK;
    if (system >= 0)
        rc = flatten_system(system);
    if (rc == OK && event >= 0) {
        for (int32_t i = nodes[event].child; i >= 0 && rc == OK; i = nodes[i].next) {
            const Node *x = &nodes[i];
            if (x->key == k_system || x->key == k_attributes || x->type == N_NULL)
                continue;
            rc = x->type == N_OBJ ? flatten_data(i) : emit(x->key, i);
        }
    }
    return rc;
}

static PyObject *val_object(Py_ssize_t i) {
    if (vals[i].null)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(arena + vals[i].off, vals[i].len, "strict");
}

/* The flattened record as the (keys, values) lists of the Python path. */
static PyObject *record_lists(PyObject *name) {
    PyObject *keys = PyList_New(out_len), *values = PyList_New(out_len);
    if (!keys || !values)
        goto fail;
    for (Py_ssize_t i = 0; i < out_len; i++) {
        Py_INCREF(out_keys[i]);
        PyList_SET_ITEM(keys, i, out_keys[i]);
        PyObject *v = i == 0 ? (Py_INCREF(name), name) : i == 1 ? (Py_INCREF(record_obj), record_obj)
                                                                : val_object(i);
        if (!v)
            goto fail;
        PyList_SET_ITEM(values, i, v);
    }
    return Py_BuildValue("(NN)", keys, values);
fail:
    Py_XDECREF(keys);
    Py_XDECREF(values);
    return NULL;
}

/* ---- field-list tuples (the Rows group signatures), cached by the names' identities -------- */

static uint64_t hash_keys(void) {
    uint64_t h = (uint64_t)out_len;
    for (Py_ssize_t i = 0; i < out_len; i++) {
        h ^= (uint64_t)(uintptr_t)out_keys[i] >> 4;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static PyObject *signature(void) {
    if (!sig_table) {
        sig_cap = 2 * MAX_SIGNATURES;
        sig_table = PyMem_Calloc((size_t)sig_cap, sizeof(SigEntry));
        if (!sig_table) {
            PyErr_NoMemory();
            return NULL;
        }
    }
    uint64_t h = hash_keys();
    Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)(sig_cap - 1));
    while (sig_table[j].tuple) {
        PyObject *t = sig_table[j].tuple;
        if (sig_table[j].hash == h && PyTuple_GET_SIZE(t) == out_len) {
            Py_ssize_t i = 0;
            while (i < out_len && PyTuple_GET_ITEM(t, i) == out_keys[i])
                i++;
            if (i == out_len) {
                Py_INCREF(t);
                return t;
            }
        }
        j = (j + 1) & (sig_cap - 1);
    }
    PyObject *t = PyTuple_New(out_len);
    if (!t)
        return NULL;
    for (Py_ssize_t i = 0; i < out_len; i++) {
        Py_INCREF(out_keys[i]);
        PyTuple_SET_ITEM(t, i, out_keys[i]);
    }
    if (sig_count < MAX_SIGNATURES) {
        Py_INCREF(t);
        sig_table[j].hash = h;
        sig_table[j].tuple = t;
        sig_count++;
    }
    return t;
}

/* ---- Rows.add: lists into rows.groups ------------------------------------------------------ */

/* groups[channel][signature].append(values) */
static int rows_add(PyObject *groups, PyObject *channel, PyObject *sig, PyObject *values) {
    PyObject *kinds = PyDict_GetItemWithError(groups, channel);
    if (!kinds) {
        if (PyErr_Occurred())
            return ERROR;
        kinds = PyDict_New();
        if (!kinds)
            return ERROR;
        int rc = PyDict_SetItem(groups, channel, kinds);
        Py_DECREF(kinds); /* groups holds it */
        if (rc < 0)
            return ERROR;
    }
    PyObject *group = PyDict_GetItemWithError(kinds, sig);
    if (group)
        return PyList_Append(group, values) < 0 ? ERROR : OK;
    if (PyErr_Occurred())
        return ERROR;
    group = PyList_New(1);
    if (!group)
        return ERROR;
    Py_INCREF(values);
    PyList_SET_ITEM(group, 0, values);
    int rc = PyDict_SetItem(kinds, sig, group);
    Py_DECREF(group);
    return rc < 0 ? ERROR : OK;
}

/* ---- Batch: the same grouping, kept as Arrow string column buffers ------------------------- */

typedef struct {
    char *data;
    int64_t *offsets; /* rows + 1 */
    uint8_t *valid;   /* Arrow validity bitmap, LSB first */
    Py_ssize_t len, dcap, ocap, vcap, nulls;
} Column;

typedef struct {
    PyObject *records; /* the RECORD values, as given */
    Py_ssize_t n, ncols;
    Column *cols;
} Group;

typedef struct {
    PyObject_HEAD
    PyObject *channels; /* channel -> {signature: group index}, both in order of first appearance */
    Group *groups;
    Py_ssize_t ngroups, gcap;
    PyObject *last_sig, *last_channel; /* the group of the previous row (held, so never reused) */
    Py_ssize_t last_group;
    char *chan_bytes; /* the previous native row's channel text, for reusing its str */
    Py_ssize_t chan_len, chan_cap;
    PyObject *chan_obj;
} Batch;

static void column_free(Column *c) {
    PyMem_RawFree(c->data);
    PyMem_RawFree(c->offsets);
    PyMem_RawFree(c->valid);
    memset(c, 0, sizeof(Column));
}

static void batch_clear(Batch *b) {
    for (Py_ssize_t g = 0; g < b->ngroups; g++) {
        Group *gr = &b->groups[g];
        Py_XDECREF(gr->records);
        for (Py_ssize_t c = 0; c < gr->ncols; c++)
            column_free(&gr->cols[c]);
        PyMem_Free(gr->cols);
    }
    b->ngroups = 0;
    Py_CLEAR(b->last_sig);
    Py_CLEAR(b->last_channel);
    Py_CLEAR(b->chan_obj);
    b->chan_len = -1;
}

static int batch_reset(Batch *b) {
    batch_clear(b);
    Py_XSETREF(b->channels, PyDict_New());
    return b->channels ? OK : ERROR;
}

static PyObject *batch_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Batch() takes no arguments");
        return NULL;
    }
    Batch *b = (Batch *)type->tp_alloc(type, 0);
    if (!b)
        return NULL;
    b->chan_len = -1;
    if (batch_reset(b) != OK) {
        Py_DECREF(b);
        return NULL;
    }
    return (PyObject *)b;
}

static void batch_dealloc(Batch *b) {
    batch_clear(b);
    PyMem_Free(b->groups);
    PyMem_Free(b->chan_bytes);
    Py_XDECREF(b->channels);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static int column_add(Column *c, Py_ssize_t row, const char *s, Py_ssize_t n, int null) {
    if (reserve_raw((void **)&c->offsets, &c->ocap, row + 2, sizeof(int64_t)) != OK)
        return ERROR;
    if (row == 0)
        c->offsets[0] = 0;
    Py_ssize_t byte = row >> 3;
    if (byte >= c->vcap) {
        Py_ssize_t old = c->vcap;
        if (reserve_raw((void **)&c->valid, &c->vcap, byte + 1, 1) != OK)
            return ERROR;
        memset(c->valid + old, 0, (size_t)(c->vcap - old));
    }
    if (null) {
        c->nulls++;
    } else {
        c->valid[byte] |= (uint8_t)(1u << (row & 7));
        if (n) {
            if (reserve_raw((void **)&c->data, &c->dcap, c->len + n, 1) != OK)
                return ERROR;
            memcpy(c->data + c->len, s, (size_t)n);
            c->len += n;
        }
    }
    c->offsets[row + 1] = c->len;
    return OK;
}

/* The group of (channel, sig) in b, created when new; -1 on error. */
static Py_ssize_t batch_group(Batch *b, PyObject *channel, PyObject *sig) {
    if (sig == b->last_sig && channel == b->last_channel)
        return b->last_group;
    PyObject *kinds = PyDict_GetItemWithError(b->channels, channel);
    if (!kinds) {
        if (PyErr_Occurred())
            return -1;
        kinds = PyDict_New();
        if (!kinds)
            return -1;
        int rc = PyDict_SetItem(b->channels, channel, kinds);
        Py_DECREF(kinds);
        if (rc < 0)
            return -1;
    }
    Py_ssize_t g;
    PyObject *index = PyDict_GetItemWithError(kinds, sig);
    if (index) {
        g = PyLong_AsSsize_t(index);
    } else {
        if (PyErr_Occurred())
            return -1;
        if (reserve((void **)&b->groups, &b->gcap, b->ngroups + 1, sizeof(Group)) != OK)
            return -1;
        g = b->ngroups;
        Group *gr = &b->groups[g];
        memset(gr, 0, sizeof(Group));
        gr->ncols = PyTuple_GET_SIZE(sig);
        gr->records = PyList_New(0);
        gr->cols = PyMem_Calloc((size_t)gr->ncols, sizeof(Column));
        if (!gr->records || !gr->cols) {
            Py_XDECREF(gr->records);
            PyMem_Free(gr->cols);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            return -1;
        }
        b->ngroups++;
        index = PyLong_FromSsize_t(g);
        if (!index)
            return -1;
        int rc = PyDict_SetItem(kinds, sig, index);
        Py_DECREF(index);
        if (rc < 0)
            return -1;
    }
    Py_INCREF(sig);
    Py_XSETREF(b->last_sig, sig);
    Py_INCREF(channel);
    Py_XSETREF(b->last_channel, channel);
    b->last_group = g;
    return g;
}

/* One row: column 0 is the file name, 1 the RECORD value, the others vals[i] over the arena. */
static int batch_add(Batch *b, PyObject *channel, PyObject *sig, const char *name, Py_ssize_t name_len,
                     PyObject *record) {
    Py_ssize_t g = batch_group(b, channel, sig);
    if (g < 0)
        return ERROR;
    Group *gr = &b->groups[g];
    if (gr->ncols != out_len) {
        PyErr_SetString(PyExc_ValueError, "field list and values differ in length");
        return ERROR;
    }
    if (PyList_Append(gr->records, record) < 0)
        return ERROR;
    Py_ssize_t row = gr->n;
    if (column_add(&gr->cols[0], row, name, name_len, 0) != OK)
        return ERROR;
    for (Py_ssize_t i = 2; i < out_len; i++)
        if (column_add(&gr->cols[i], row, arena + vals[i].off, vals[i].len, vals[i].null) != OK)
            return ERROR;
    gr->n++;
    return OK;
}

/* The channel of the native row in out_keys / vals (a str reused while it repeats) or None. */
static PyObject *native_channel(Batch *b) {
    for (Py_ssize_t i = 2; i < out_len; i++) {
        if (out_keys[i] != k_channel)
            continue;
        if (vals[i].null)
            return Py_None;
        const char *s = arena + vals[i].off;
        Py_ssize_t n = vals[i].len;
        if (b->chan_obj && n == b->chan_len && memcmp(s, b->chan_bytes, (size_t)n) == 0)
            return b->chan_obj;
        PyObject *obj = PyUnicode_DecodeUTF8(s, n, "strict");
        if (!obj || reserve((void **)&b->chan_bytes, &b->chan_cap, n + 1, 1) != OK) {
            Py_XDECREF(obj);
            return NULL;
        }
        memcpy(b->chan_bytes, s, (size_t)n);
        b->chan_len = n;
        Py_XSETREF(b->chan_obj, obj);
        return obj;
    }
    return Py_None;
}

/* ---- Arrow C data interface: a group's columns handed to Polars without copies in Python ---- */

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#define ARROW_FLAG_NULLABLE 2

/* A string column ready for export as an Arrow string view array ("vu"), the layout Polars keeps
 * strings in: importing it takes the buffers as they are, where a "u" (offsets) column is
 * converted value by value (docs/BENCHMARKS.md, "Ingest"). One column of a channel's frame: the
 * rows of every group of the channel, one after the other; a group without the column adds nulls.
 * A view is 16 bytes: the length, then the bytes themselves when at most 12, else their first 4
 * bytes, a data buffer index and the offset in that buffer. The data buffers are the groups' own
 * column buffers (no copy of the strings), split when an offset would pass split_bytes (INT32_MAX). */
typedef struct {
    uint8_t *valid;         /* validity bitmap, LSB first; NULL once known to be null-free */
    uint8_t *views;         /* length * 16 bytes (views_alloc) */
    int mapped;             /* views comes from mmap */
    const char **data;      /* the variadic data buffers (pointers into owned blocks) */
    int64_t *sizes;         /* their sizes in bytes */
    char **owned;           /* the blocks to free */
    const void **buffers;   /* the exported buffer list, built on export */
    Py_ssize_t ndata, dcap, scap, nowned, ocap;
    int64_t length, null_count;
} ViewColumn;

#define VIEW_INLINE 12

/* A channel's columns are the union of its field lists, so most cells of a wide channel (Security:
 * dozens of event kinds) are null, and a null cell's view is 16 zero bytes that nothing writes.
 * Large views buffers are therefore mapped fresh: anonymous pages read as zero and only the pages
 * written (the non-null cells) become resident. From the heap, calloc clears reused memory and so
 * touches every page: the worker's peak was ~20 MB higher at batch 50,000 (docs/BENCHMARKS.md). */
#define VIEWS_MAP_BYTES (1 << 16)
/* Mappings alive at once, at most (a soft limit): each is a kernel memory area, and a process has a
 * few tens of thousands (vm.max_map_count). A worker holds a batch or two; a caller that keeps
 * many in-process batches alive gets heap memory past this. */
#define MAX_MAPPED 4096
/* The limits of the two paths that only huge inputs reach (a data buffer split at 2 GiB of strings,
 * heap views past MAX_MAPPED mappings), variables so that tests can lower them (_set_limits); a
 * load of a static where there was a constant. Only set with the GIL held, read under it too. */
static int64_t split_bytes = INT32_MAX;      /* a data buffer holds at most this many bytes */
static int64_t max_mapped = MAX_MAPPED;
static size_t views_map_bytes = VIEWS_MAP_BYTES;
static int64_t mapped_live; /* changed atomically: the release callbacks may run on any thread */

static void *views_alloc(size_t bytes, int *mapped) {
    *mapped = 0;
#ifndef _WIN32
    if (bytes >= views_map_bytes && __atomic_load_n(&mapped_live, __ATOMIC_RELAXED) < max_mapped) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            __atomic_fetch_add(&mapped_live, 1, __ATOMIC_RELAXED);
            *mapped = 1;
            return p;
        }
    }
#endif
    return PyMem_RawCalloc(bytes, 1);
}

static void views_free(void *p, size_t bytes, int mapped) {
#ifndef _WIN32
    if (mapped) {
        munmap(p, bytes);
        __atomic_fetch_sub(&mapped_live, 1, __ATOMIC_RELAXED);
        return;
    }
#endif
    (void)bytes;
    (void)mapped;
    PyMem_RawFree(p);
}

/* Everything below is freed with the raw allocator (or munmap) only: release callbacks may run without
 * the GIL. */

static void view_column_free(ViewColumn *c) {
    if (!c)
        return;
    for (Py_ssize_t i = 0; i < c->nowned; i++)
        PyMem_RawFree(c->owned[i]);
    PyMem_RawFree(c->owned);
    PyMem_RawFree(c->valid);
    if (c->views)
        views_free(c->views, (size_t)(c->length ? c->length : 1) * 16, c->mapped);
    PyMem_RawFree((void *)c->data);
    PyMem_RawFree(c->sizes);
    PyMem_RawFree((void *)c->buffers);
    PyMem_RawFree(c);
}

static void release_view_array(struct ArrowArray *a) {
    view_column_free(a->private_data);
    a->release = NULL;
}

static void release_struct_array(struct ArrowArray *a) {
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i]->release)
            a->children[i]->release(a->children[i]);
        PyMem_RawFree(a->children[i]);
    }
    PyMem_RawFree(a->children);
    PyMem_RawFree((void *)a->buffers);
    a->release = NULL;
}

static void release_schema(struct ArrowSchema *s) {
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release)
            s->children[i]->release(s->children[i]);
        PyMem_RawFree(s->children[i]);
    }
    PyMem_RawFree(s->children);
    PyMem_RawFree((void *)s->name);
    s->release = NULL;
}

static ViewColumn *view_column_new(int64_t length) {
    ViewColumn *c = PyMem_RawCalloc(1, sizeof(ViewColumn));
    if (c) {
        c->length = length;
        c->views = views_alloc((size_t)(length ? length : 1) * 16, &c->mapped);
        c->valid = PyMem_RawCalloc((size_t)(length / 8 + 1), 1);
        c->sizes = PyMem_RawCalloc(1, sizeof(int64_t)); /* exported even when there is no data buffer */
        c->scap = 1;
    }
    if (!c || !c->views || !c->valid || !c->sizes) {
        view_column_free(c);
        PyErr_NoMemory();
        return NULL;
    }
    return c;
}

/* A new data buffer starting at ``start``; its index, or -1 (memory error set). */
static int32_t view_buffer(ViewColumn *out, const char *start) {
    if (out->ndata >= INT32_MAX ||
        reserve_raw((void **)&out->data, &out->dcap, out->ndata + 1, sizeof(char *)) != OK ||
        reserve_raw((void **)&out->sizes, &out->scap, out->ndata + 1, sizeof(int64_t)) != OK)
        return -1;
    out->data[out->ndata] = start;
    out->sizes[out->ndata] = 0;
    return (int32_t)out->ndata++;
}

/* Appends a group's column (n rows) at row ``base`` of ``out``; takes its data block when a view
 * points into it (the rest of the group column is freed with the batch). */
static int view_append(ViewColumn *out, Column *c, Py_ssize_t n, int64_t base) {
    int32_t current = -1;
    int64_t start = 0;
    if (c->data && c->dcap > c->len) { /* the block lives as long as the frame: drop its growth room */
        char *fit = PyMem_RawRealloc(c->data, (size_t)(c->len ? c->len : 1));
        if (fit) {
            c->data = fit;
            c->dcap = c->len ? c->len : 1;
        }
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        if (!(c->valid[r >> 3] & (1u << (r & 7)))) {
            out->null_count++;
            continue;
        }
        int64_t row = base + r, from = c->offsets[r], len = c->offsets[r + 1] - from;
        if (len > INT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "a value longer than 2 GiB");
            return ERROR;
        }
        uint8_t *view = out->views + row * 16;
        out->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
        int32_t len32 = (int32_t)len;
        memcpy(view, &len32, 4);
        if (len <= VIEW_INLINE) {
            if (len)
                memcpy(view + 4, c->data + from, (size_t)len);
            continue;
        }
        if (current < 0 || from + len - start > split_bytes) {
            start = from;
            current = view_buffer(out, c->data + start);
            if (current < 0)
                return ERROR;
        }
        int32_t offset = (int32_t)(from - start);
        memcpy(view + 4, c->data + from, 4);
        memcpy(view + 8, &current, 4);
        memcpy(view + 12, &offset, 4);
        out->sizes[current] = from + len - start;
    }
    if (current >= 0) { /* the views point into the block: it now belongs to the column */
        if (reserve_raw((void **)&out->owned, &out->ocap, out->nowned + 1, sizeof(char *)) != OK)
            return ERROR;
        out->owned[out->nowned++] = c->data;
        c->data = NULL;
    }
    return OK;
}

/* Columns: a channel's frame columns (RECORD aside), exported once through __arrow_c_array__. */
typedef struct {
    PyObject_HEAD
    PyObject *names; /* list of str */
    ViewColumn **cols;
    Py_ssize_t ncols;
    int64_t length;
} Columns;

static void columns_free_data(Columns *c) {
    if (!c->cols)
        return;
    for (Py_ssize_t i = 0; i < c->ncols; i++)
        view_column_free(c->cols[i]);
    PyMem_RawFree(c->cols);
    c->cols = NULL;
}

static void columns_dealloc(Columns *c) {
    columns_free_data(c);
    Py_XDECREF(c->names);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static void schema_capsule_free(PyObject *capsule) {
    struct ArrowSchema *s = PyCapsule_GetPointer(capsule, "arrow_schema");
    if (s && s->release)
        s->release(s);
    PyMem_RawFree(s);
}

static void array_capsule_free(PyObject *capsule) {
    struct ArrowArray *a = PyCapsule_GetPointer(capsule, "arrow_array");
    if (a && a->release)
        a->release(a);
    PyMem_RawFree(a);
}

static char *raw_strdup(const char *s, Py_ssize_t n) {
    char *out = PyMem_RawMalloc((size_t)n + 1);
    if (out) {
        memcpy(out, s, (size_t)n);
        out[n] = 0;
    }
    return out;
}

static PyObject *columns_export(Columns *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"requested_schema", NULL};
    PyObject *requested = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:__arrow_c_array__", kwlist, &requested))
        return NULL;
    if (requested != Py_None) {
        PyErr_SetString(PyExc_NotImplementedError, "requested_schema is not supported");
        return NULL;
    }
    if (!self->cols) {
        PyErr_SetString(PyExc_ValueError, "columns already exported");
        return NULL;
    }
    Py_ssize_t n = self->ncols;
    struct ArrowSchema *schema = PyMem_RawCalloc(1, sizeof(struct ArrowSchema));
    struct ArrowArray *array = PyMem_RawCalloc(1, sizeof(struct ArrowArray));
    PyObject *schema_capsule = NULL, *array_capsule = NULL;
    if (!schema || !array)
        goto nomem;
    schema->format = "+s";
    schema->release = release_schema;
    schema->children = PyMem_RawCalloc((size_t)(n ? n : 1), sizeof(struct ArrowSchema *));
    array->length = self->length;
    array->n_buffers = 1;
    array->buffers = PyMem_RawCalloc(1, sizeof(void *));
    array->release = release_struct_array;
    array->children = PyMem_RawCalloc((size_t)(n ? n : 1), sizeof(struct ArrowArray *));
    if (!schema->children || !array->buffers || !array->children || !(schema->name = raw_strdup("", 0)))
        goto nomem;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *name = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(self->names, i), &len);
        if (!name)
            goto fail;
        struct ArrowSchema *cs = PyMem_RawCalloc(1, sizeof(struct ArrowSchema));
        struct ArrowArray *ca = PyMem_RawCalloc(1, sizeof(struct ArrowArray));
        if (cs) {
            schema->children[schema->n_children++] = cs;
            cs->release = release_schema;
            cs->format = "vu";
            cs->flags = ARROW_FLAG_NULLABLE;
        }
        if (ca) {
            array->children[array->n_children++] = ca;
        }
        ViewColumn *col = self->cols[i];
        if (!cs || !ca || !(cs->name = raw_strdup(name, len)) ||
            !(col->buffers = PyMem_RawCalloc((size_t)col->ndata + 3, sizeof(void *))))
            goto nomem;
        self->cols[i] = NULL; /* now owned by the exported array */
        /* validity, views, the data buffers, then the int64 sizes of the data buffers */
        col->buffers[0] = col->valid;
        col->buffers[1] = col->views;
        for (Py_ssize_t d = 0; d < col->ndata; d++)
            col->buffers[2 + d] = col->data[d];
        col->buffers[2 + col->ndata] = col->sizes;
        ca->length = col->length;
        ca->null_count = col->null_count;
        ca->n_buffers = 3 + col->ndata;
        ca->buffers = col->buffers;
        ca->private_data = col;
        ca->release = release_view_array;
    }
    columns_free_data(self);
    schema_capsule = PyCapsule_New(schema, "arrow_schema", schema_capsule_free);
    if (!schema_capsule)
        goto fail;
    schema = NULL;
    array_capsule = PyCapsule_New(array, "arrow_array", array_capsule_free);
    if (!array_capsule)
        goto fail;
    return Py_BuildValue("(NN)", schema_capsule, array_capsule);
nomem:
    PyErr_NoMemory();
fail:
    Py_XDECREF(schema_capsule);
    if (schema) {
        if (schema->release)
            schema->release(schema);
        PyMem_RawFree(schema);
    }
    if (array) {
        if (array->release)
            array->release(array);
        PyMem_RawFree(array);
    }
    return NULL;
}

static PyMethodDef columns_methods[] = {
    {"__arrow_c_array__", (PyCFunction)(void (*)(void))columns_export, METH_VARARGS | METH_KEYWORDS,
     "The columns as an Arrow struct array (PyCapsule interface); once only."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ColumnsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "chainbreaker.readers._evtxflat.Columns",
    .tp_doc = "One channel's string columns, for pl.DataFrame (Arrow PyCapsule interface).",
    .tp_basicsize = sizeof(Columns),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)columns_dealloc,
    .tp_methods = columns_methods,
};

/* One channel as (records, Columns): the columns are the union of its groups' frame_columns
 * (position 1 aside) in order of first appearance, as pl.concat(how="diagonal") of the groups'
 * frames orders them; a group's rows follow the previous group's. */
static PyObject *channel_columns(Batch *b, PyObject *kinds, PyObject *layout_of) {
    PyObject *records = PyList_New(0), *names = PyList_New(0), *index_of = PyDict_New();
    PyObject *layouts = PyList_New(0), *result = NULL;
    Columns *out = NULL;
    Py_ssize_t *where = NULL;
    if (!records || !names || !index_of || !layouts)
        goto done;
    PyObject *sig, *index;
    Py_ssize_t pos = 0;
    int64_t total = 0;
    while (PyDict_Next(kinds, &pos, &sig, &index)) { /* the union of the groups' columns */
        Group *gr = &b->groups[PyLong_AsSsize_t(index)];
        total += gr->n;
        PyObject *called = PyObject_CallOneArg(layout_of, sig);
        PyObject *pairs = called ? PySequence_Fast(called, "frame_columns must return a sequence") : NULL;
        Py_XDECREF(called);
        if (!pairs || PyList_Append(layouts, pairs) < 0) {
            Py_XDECREF(pairs);
            goto done;
        }
        Py_DECREF(pairs);
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(pairs); i++) {
            Py_ssize_t position;
            PyObject *name;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(pairs, i), "nU:frame_columns item", &position,
                                  &name))
                goto done;
            if (position == 1)
                continue;
            if (position < 0 || position >= gr->ncols || !gr->cols[position].offsets) {
                PyErr_SetString(PyExc_ValueError, "frame_columns gave a bad position");
                goto done;
            }
            int has = PyDict_Contains(index_of, name);
            if (has < 0)
                goto done;
            if (!has) {
                PyObject *at = PyLong_FromSsize_t(PyList_GET_SIZE(names));
                int rc = at ? PyDict_SetItem(index_of, name, at) : -1;
                Py_XDECREF(at);
                if (rc < 0 || PyList_Append(names, name) < 0)
                    goto done;
            }
        }
    }
    Py_ssize_t ncols = PyList_GET_SIZE(names);
    out = PyObject_New(Columns, &ColumnsType);
    if (!out)
        goto done;
    out->names = names;
    Py_INCREF(names);
    out->ncols = 0;
    out->length = total;
    out->cols = PyMem_RawCalloc((size_t)(ncols ? ncols : 1), sizeof(ViewColumn *));
    where = PyMem_Calloc((size_t)(ncols ? ncols : 1), sizeof(Py_ssize_t));
    if (!out->cols || !where) {
        PyErr_NoMemory();
        goto done;
    }
    for (; out->ncols < ncols; out->ncols++)
        if (!(out->cols[out->ncols] = view_column_new(total)))
            goto done;
    int64_t base = 0;
    Py_ssize_t g = 0;
    pos = 0;
    while (PyDict_Next(kinds, &pos, &sig, &index)) { /* each group's rows, in order */
        Group *gr = &b->groups[PyLong_AsSsize_t(index)];
        PyObject *pairs = PyList_GET_ITEM(layouts, g++);
        Py_ssize_t filled = 0;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(pairs); i++) {
            Py_ssize_t position;
            PyObject *name;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(pairs, i), "nU", &position, &name))
                goto done;
            if (position == 1)
                continue;
            Py_ssize_t u = PyLong_AsSsize_t(PyDict_GetItemWithError(index_of, name));
            if (u < 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "frame_columns changed between calls");
                goto done;
            }
            if (view_append(out->cols[u], &gr->cols[position], gr->n, base) != OK)
                goto done;
            where[u] = g; /* filled by this group */
            filled++;
        }
        if (filled < ncols)
            for (Py_ssize_t u = 0; u < ncols; u++)
                if (where[u] != g)
                    out->cols[u]->null_count += gr->n;
        if (PyList_SetSlice(records, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, gr->records) < 0)
            goto done;
        base += gr->n;
    }
    for (Py_ssize_t u = 0; u < ncols; u++)
        if (!out->cols[u]->null_count)
            PyMem_RawFree(out->cols[u]->valid), out->cols[u]->valid = NULL;
    result = Py_BuildValue("(OO)", records, (PyObject *)out);
done:
    PyMem_Free(where);
    Py_XDECREF(out);
    Py_XDECREF(records);
    Py_XDECREF(names);
    Py_XDECREF(index_of);
    Py_XDECREF(layouts);
    return result;
}

PyDoc_STRVAR(take_doc,
"take(frame_columns) -> [(channel, records, columns), ...]\n\n"
"The rows so far, one entry per channel (in order of first appearance), the rows of its field lists\n"
"one after the other (field lists in order of first appearance), as windows_fields.Rows groups them:\n"
"the RECORD values as given (column 1) and a Columns object holding the other columns, the union\n"
"of what frame_columns(signature) keeps of each field list in order of first appearance (null\n"
"where a field list lacks one), for pl.DataFrame (Arrow PyCapsule interface). Empties the batch.");

static PyObject *batch_take(Batch *b, PyObject *layout_of) {
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    PyObject *channel, *kinds;
    Py_ssize_t pos = 0;
    while (PyDict_Next(b->channels, &pos, &channel, &kinds)) {
        PyObject *taken = channel_columns(b, kinds, layout_of);
        PyObject *entry = taken ? Py_BuildValue("(OOO)", channel, PyTuple_GET_ITEM(taken, 0),
                                                PyTuple_GET_ITEM(taken, 1))
                                : NULL;
        Py_XDECREF(taken);
        if (!entry || PyList_Append(out, entry) < 0) {
            Py_XDECREF(entry);
            goto fail;
        }
        Py_DECREF(entry);
    }
    if (batch_reset(b) != OK)
        goto fail;
    return out;
fail:
    Py_DECREF(out);
    batch_reset(b); /* never leave half-moved columns behind */
    return NULL;
}

static PyMethodDef batch_methods[] = {
    {"take", (PyCFunction)batch_take, METH_O, take_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "chainbreaker.readers._evtxflat.Batch",
    .tp_doc = "Flattened rows grouped by channel and field list, as Arrow string column buffers.",
    .tp_basicsize = sizeof(Batch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = batch_new,
    .tp_dealloc = (destructor)batch_dealloc,
    .tp_methods = batch_methods,
};

/* ---- module functions ---------------------------------------------------------------------- */

PyDoc_STRVAR(flatten_doc,
"flatten(data, name, record_id) -> (keys, values) | None\n\n"
"One record's JSON text (records_json()'s item['data']) as the flat lists readers/evtx.py builds,\n"
"or None when the record must take the Python path (orjson + windows_fields.flatten_event).");

static PyObject *py_flatten(PyObject *self, PyObject *args) {
    PyObject *data, *name, *rid;
    if (!PyArg_ParseTuple(args, "UOO:flatten", &data, &name, &rid))
        return NULL;
    int rc = flatten(data, rid);
    if (rc == ERROR)
        return NULL;
    if (rc == FALLBACK)
        Py_RETURN_NONE;
    return record_lists(name);
}

/* A row from the Python fallback, (keys, values) lists, into out_keys / vals / record_obj. */
static int load_fallback(PyObject *pair, PyObject **sig, PyObject **channel) {
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyList_Check(PyTuple_GET_ITEM(pair, 0)) ||
        !PyList_Check(PyTuple_GET_ITEM(pair, 1)) ||
        PyList_GET_SIZE(PyTuple_GET_ITEM(pair, 0)) != PyList_GET_SIZE(PyTuple_GET_ITEM(pair, 1)) ||
        PyList_GET_SIZE(PyTuple_GET_ITEM(pair, 0)) < 2) {
        PyErr_SetString(PyExc_TypeError, "fallback must return (keys, values), two lists of one length");
        return ERROR;
    }
    PyObject *keys = PyTuple_GET_ITEM(pair, 0), *values = PyTuple_GET_ITEM(pair, 1);
    Py_ssize_t n = PyList_GET_SIZE(keys);
    if (reserve((void **)&out_keys, &out_cap, n, sizeof(PyObject *)) != OK ||
        reserve((void **)&vals, &vals_cap, n, sizeof(Val)) != OK)
        return ERROR;
    *channel = NULL;
    arena_len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i), *value = PyList_GET_ITEM(values, i);
        out_keys[i] = key;
        if (!*channel) {
            int eq = PyObject_RichCompareBool(key, k_channel, Py_EQ);
            if (eq < 0)
                return ERROR;
            if (eq)
                *channel = value;
        }
        if (i < 2)
            continue;
        vals[i].off = arena_len;
        vals[i].null = value == Py_None;
        if (value != Py_None) {
            Py_ssize_t len;
            const char *s = PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &len) : NULL;
            if (!s) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "flattened values must be str or None");
                return ERROR;
            }
            if (arena_put(s, len) != OK)
                return ERROR;
        }
        vals[i].len = arena_len - vals[i].off;
    }
    out_len = n;
    Py_INCREF(PyList_GET_ITEM(values, 1));
    Py_XSETREF(record_obj, PyList_GET_ITEM(values, 1));
    if (!*channel)
        *channel = Py_None;
    *sig = PyList_AsTuple(keys);
    return *sig ? OK : ERROR;
}

PyDoc_STRVAR(fill_doc,
"fill(records, rows, batch, batch_size, last_id, name, fallback) -> (last_id, done)\n\n"
"readers/evtx.py::_fill in C: pull records_json() items until rows.rows reaches batch_size, into\n"
"the Batch ``batch`` or, when it is None, into rows.groups as Rows.add does. A record the native\n"
"parser does not take is flattened by fallback(item, name) -> (keys, values). Errors of the\n"
"iterator or of the fallback propagate, with rows.rows counting every row added before them.");

static PyObject *py_fill(PyObject *self, PyObject *args) {
    PyObject *records, *rows, *batch_obj, *last_id, *name, *fallback;
    Py_ssize_t batch_size, name_len;
    if (!PyArg_ParseTuple(args, "OOOnOUO:fill", &records, &rows, &batch_obj, &batch_size, &last_id, &name,
                          &fallback))
        return NULL;
    Batch *batch = batch_obj == Py_None ? NULL : (Batch *)batch_obj;
    if (batch && !PyObject_TypeCheck(batch_obj, &BatchType)) {
        PyErr_SetString(PyExc_TypeError, "batch must be a Batch or None");
        return NULL;
    }
    const char *name_utf8 = PyUnicode_AsUTF8AndSize(name, &name_len);
    if (!name_utf8)
        return NULL;
    PyObject *groups = PyObject_GetAttr(rows, a_groups);
    if (!groups)
        return NULL;
    if (!PyDict_CheckExact(groups)) {
        Py_DECREF(groups);
        PyErr_SetString(PyExc_TypeError, "rows.groups must be a dict");
        return NULL;
    }
    PyObject *count_obj = PyObject_GetAttr(rows, a_rows);
    if (!count_obj) {
        Py_DECREF(groups);
        return NULL;
    }
    Py_ssize_t count = PyLong_AsSsize_t(count_obj);
    Py_DECREF(count_obj);
    if (count == -1 && PyErr_Occurred()) {
        Py_DECREF(groups);
        return NULL;
    }
    Py_INCREF(last_id);
    int done = 1, failed = 0;
    PyObject *item;
    while ((item = PyIter_Next(records)) != NULL) {
        PyObject *data = PyObject_GetItem(item, a_data);
        PyObject *rid = data ? PyObject_GetItem(item, a_rid) : NULL;
        PyObject *sig = NULL, *channel = NULL, *pair = NULL;
        int rc = ERROR;
        if (rid)
            rc = PyUnicode_Check(data) ? flatten(data, rid) : FALLBACK;
        if (rc == OK) {
            channel = batch ? native_channel(batch) : NULL;
            sig = signature();
        } else if (rc == FALLBACK) {
            pair = PyObject_CallFunctionObjArgs(fallback, item, name, NULL);
            if (pair && load_fallback(pair, &sig, &channel) != OK)
                Py_CLEAR(sig);
        }
        rc = ERROR;
        if (sig && batch) {
            if (channel)
                rc = batch_add(batch, channel, sig, name_utf8, name_len, record_obj);
        } else if (sig) {
            PyObject *values = pair ? PyTuple_GET_ITEM(pair, 1) : record_lists(name);
            if (values && !pair) { /* record_lists gave (keys, values) */
                PyObject *lists = values;
                values = PyTuple_GET_ITEM(lists, 1);
                Py_INCREF(values);
                Py_DECREF(lists);
            } else if (values) {
                Py_INCREF(values);
            }
            if (values) {
                if (!channel) {
                    channel = Py_None;
                    for (Py_ssize_t i = 2; i < out_len; i++)
                        if (out_keys[i] == k_channel) {
                            channel = PyList_GET_ITEM(values, i);
                            break;
                        }
                }
                rc = rows_add(groups, channel, sig, values);
                Py_DECREF(values);
            }
        }
        Py_XDECREF(sig);
        Py_XDECREF(pair);
        Py_XDECREF(data);
        Py_DECREF(item);
        if (rc != OK) {
            Py_XDECREF(rid);
            failed = 1;
            break;
        }
        Py_DECREF(last_id);
        last_id = rid;
        count++;
        if (count >= batch_size) {
            done = 0;
            break;
        }
    }
    Py_CLEAR(record_obj);
    if (!failed && PyErr_Occurred())
        failed = 1;
    Py_DECREF(groups);
    /* rows.rows counts what was added, also when an error stops the loop */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = failed ? PyErr_GetRaisedException() : NULL;
#else
    PyObject *exc_type = NULL, *exc_value = NULL, *exc_tb = NULL;
    if (failed)
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
#endif
    PyObject *count_new = PyLong_FromSsize_t(count);
    int set = count_new ? PyObject_SetAttr(rows, a_rows, count_new) : -1;
    Py_XDECREF(count_new);
    if (failed) {
        if (set < 0)
            PyErr_Clear();
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(raised);
#else
        PyErr_Restore(exc_type, exc_value, exc_tb);
#endif
        Py_DECREF(last_id);
        return NULL;
    }
    if (set < 0) {
        Py_DECREF(last_id);
        return NULL;
    }
    return Py_BuildValue("(NO)", last_id, done ? Py_True : Py_False);
}

PyDoc_STRVAR(set_limits_doc,
"_set_limits(split_bytes=None, max_mapped=None, map_bytes=None) -> (split_bytes, max_mapped, map_bytes)\n\n"
"For tests only: lowers the limits of paths that only huge inputs reach, and returns the previous\n"
"values (pass them back to restore). split_bytes (1..2**31 - 1, default 2**31 - 1): the bytes a\n"
"string view data buffer holds before the next one starts; max_mapped (>= 0, default 4096): the\n"
"views buffers mapped (mmap) at once, heap memory past that; map_bytes (>= 0, default 65536): the\n"
"size from which a views buffer is mapped. None keeps a value. Affects columns built afterwards.");

static PyObject *py_set_limits(PyObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"split_bytes", "max_mapped", "map_bytes", NULL};
    PyObject *split_obj = Py_None, *mapped_obj = Py_None, *map_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOO:_set_limits", kwlist, &split_obj, &mapped_obj, &map_obj))
        return NULL;
    long long split = split_bytes, cap = max_mapped, map = (long long)views_map_bytes;
    if ((split_obj != Py_None && (split = PyLong_AsLongLong(split_obj)) == -1 && PyErr_Occurred()) ||
        (mapped_obj != Py_None && (cap = PyLong_AsLongLong(mapped_obj)) == -1 && PyErr_Occurred()) ||
        (map_obj != Py_None && (map = PyLong_AsLongLong(map_obj)) == -1 && PyErr_Occurred()))
        return NULL;
    if (split < 1 || split > INT32_MAX || cap < 0 || map < 0) {
        PyErr_SetString(PyExc_ValueError,
                         "split_bytes must be in 1..2**31 - 1, max_mapped and map_bytes at least 0");
        return NULL;
    }
    PyObject *previous = Py_BuildValue("(LLK)", (long long)split_bytes, (long long)max_mapped,
                                       (unsigned long long)views_map_bytes);
    if (previous) {
        split_bytes = split;
        max_mapped = cap;
        views_map_bytes = (size_t)map;
    }
    return previous;
}

PyDoc_STRVAR(mapped_live_doc,
"_mapped_live() -> int\n\n"
"For tests only: how many views buffers are mapped (mmap) now, i.e. not yet released.");

static PyObject *py_mapped_live(PyObject *self, PyObject *unused) {
#ifndef _WIN32
    return PyLong_FromLongLong((long long)__atomic_load_n(&mapped_live, __ATOMIC_RELAXED));
#else
    return PyLong_FromLong(0); /* nothing is mapped there */
#endif
}

static PyMethodDef methods[] = {
    {"flatten", py_flatten, METH_VARARGS, flatten_doc},
    {"fill", py_fill, METH_VARARGS, fill_doc},
    {"_set_limits", (PyCFunction)(void (*)(void))py_set_limits, METH_VARARGS | METH_KEYWORDS, set_limits_doc},
    {"_mapped_live", py_mapped_live, METH_NOARGS, mapped_live_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "chainbreaker.readers._evtxflat",
    "EVTX record JSON -> flat Sigma-style (names, values) rows, compiled (see readers/evtx.py).",
    -1, methods,
};

static PyObject *key_constant(const char *s) {
    PyObject *obj = intern_key(s, (Py_ssize_t)strlen(s));
    if (!obj && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "key table full at start");
    return obj;
}

PyMODINIT_FUNC PyInit__evtxflat(void) {
    for (int c = 0; c < 0x20; c++)
        special[c] = 1;
    special['"'] = special['\\'] = 1;
    if (!key_table && key_grow() != OK)
        return NULL;
    if (!(k_file = key_constant("__file")) || !(k_record = key_constant("__record")) ||
        !(k_event = key_constant("Event")) || !(k_system = key_constant("System")) ||
        !(k_text = key_constant("#text")) || !(k_attributes = key_constant("#attributes")) ||
        !(k_erid = key_constant("EventRecordID")) || !(k_channel = key_constant("Channel")))
        return NULL;
    if (!(a_groups = PyUnicode_InternFromString("groups")) || !(a_rows = PyUnicode_InternFromString("rows")) ||
        !(a_data = PyUnicode_InternFromString("data")) ||
        !(a_rid = PyUnicode_InternFromString("event_record_id")))
        return NULL;
    if (PyType_Ready(&BatchType) < 0 || PyType_Ready(&ColumnsType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "FILE", k_file) < 0 || PyModule_AddObjectRef(m, "RECORD", k_record) < 0 ||
        PyModule_AddObjectRef(m, "Batch", (PyObject *)&BatchType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
