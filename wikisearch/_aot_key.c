/* _aot_key: the argument-type key of a call to a kernel compiled ahead of time (wikisearch.jit).
 *
 * key(*args) -> bytes of 4 per argument, or None when an argument is of no type the kernels are
 * compiled for. An array: dtype kind ('i', 'u', 'f', 'b'), item size, ndim, and a flags byte
 * (1: C-contiguous, 2: F-contiguous and not C, 3: neither -- numba's layouts C, F, A -- plus
 * 0x10 when writable). A scalar: kind and size as numba's typeof gives them (a Python int is
 * int64, or uint64 when only that holds it; a float float64; a bool bool; a numpy scalar its
 * own type), ndim 0, flags 0x80. jit.type_key is the same in Python (the tests compare them);
 * this is the fast path of every call (~0.1 us where the Python checks take ~1 us an array).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#if NPY_ABI_VERSION < 0x02000000                /* (numpy 1.x headers) */
#define PyDataType_ELSIZE(d) ((d)->elsize)
#endif

static int scalar_code(PyObject *o, char *out) {
    if (PyBool_Check(o)) { out[0] = 'b'; out[1] = 1; return 1; }
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        (void)PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow == 0) { out[0] = 'i'; out[1] = 8; return 1; }
        if (overflow > 0) {
            unsigned long long v = PyLong_AsUnsignedLongLong(o);
            if (v == (unsigned long long)-1 && PyErr_Occurred()) { PyErr_Clear(); return 0; }
            out[0] = 'u'; out[1] = 8; return 1;
        }
        return 0;
    }
    if (PyFloat_CheckExact(o)) { out[0] = 'f'; out[1] = 8; return 1; }
    if (PyArray_IsScalar(o, Generic)) {
        PyArray_Descr *d = PyArray_DescrFromScalar(o);
        int ok = 0;
        if (d != NULL) {
            char kind = d->kind;
            if ((kind == 'i' || kind == 'u' || kind == 'f' || kind == 'b') && PyArray_ISNBO(d->byteorder)) {
                out[0] = kind; out[1] = (char)PyDataType_ELSIZE(d); ok = 1;
            }
            Py_DECREF(d);
        }
        return ok;
    }
    return 0;
}

static PyObject *key(PyObject *self, PyObject *const *args, Py_ssize_t n) {
    char small[64] = {0};
    char *buf = n * 4 <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc(n * 4);
    if (buf == NULL) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = args[i];
        char *c = buf + 4 * i;
        if (PyArray_Check(o)) {
            PyArrayObject *a = (PyArrayObject *)o;
            PyArray_Descr *d = PyArray_DESCR(a);
            char kind = d->kind;
            int flags = PyArray_FLAGS(a);
            if (!(kind == 'i' || kind == 'u' || kind == 'f' || kind == 'b') || !PyArray_ISNBO(d->byteorder)
                    || PyArray_NDIM(a) > 127)
                goto none;
            c[0] = kind;
            c[1] = (char)PyDataType_ELSIZE(d);
            c[2] = (char)PyArray_NDIM(a);
            c[3] = (char)(((flags & NPY_ARRAY_C_CONTIGUOUS) ? 1 : (flags & NPY_ARRAY_F_CONTIGUOUS) ? 2 : 3)
                          | ((flags & NPY_ARRAY_WRITEABLE) ? 0x10 : 0));
        } else {
            if (!scalar_code(o, c)) goto none;
            c[2] = 0;
            c[3] = (char)0x80;
        }
    }
    {
        PyObject *out = PyBytes_FromStringAndSize(buf, n * 4);
        if (buf != small) PyMem_Free(buf);
        return out;
    }
none:
    if (buf != small) PyMem_Free(buf);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"key", (PyCFunction)(void (*)(void))key, METH_FASTCALL, "The argument-type key of a kernel call, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_aot_key", NULL, -1, methods};

PyMODINIT_FUNC PyInit__aot_key(void) {
    import_array();
    return PyModule_Create(&module);
}
