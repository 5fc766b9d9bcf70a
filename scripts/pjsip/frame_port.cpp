/*
 * dialer: FramePort implementation (see frame_port.hpp and docs/engine.md).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <Python.h>

#include "frame_port.hpp"

#include <pjsua2.hpp>
#include <pjsua-lib/pjsua.h>

#include <chrono>
#include <cstring>

#define THIS_FILE "frame_port.cpp"

namespace pj
{

/* pjmedia port signature: 'D','F','P','T' ("dialer frame port"). */
#define FRAME_PORT_SIGNATURE PJMEDIA_SIGNATURE('D', 'F', 'P', 'T')

namespace
{

/* pjsua calls assert (and misbehave under NDEBUG) on threads pjlib does not know. close()
 * may run from a garbage collection on any Python thread, so register such a thread
 * once, with a descriptor that lives as long as the thread. */
void ensure_pj_thread()
{
    static thread_local pj_thread_desc desc;
    static thread_local pj_thread_t *thread = NULL;
    if (!pj_thread_is_registered()) {
        pj_bzero(desc, sizeof(desc));
        pj_thread_register("frameport", desc, &thread);
    }
}

bool library_alive()
{
    pjsua_state st = pjsua_get_state();
    return st == PJSUA_STATE_INIT || st == PJSUA_STATE_STARTING ||
           st == PJSUA_STATE_RUNNING;
}

bool python_usable()
{
    if (!Py_IsInitialized())
        return false;
#if PY_VERSION_HEX >= 0x030D0000
    return !Py_IsFinalizing();
#else
    return !_Py_IsFinalizing();
#endif
}

unsigned long long now_ns()
{
    return (unsigned long long)std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

} /* anonymous namespace */

FramePort::FramePort()
: pool(NULL), port(NULL), capacity(0), head(0), count(0), bytesPerFrame(0),
  batchFrames(1), batchCount(0), batchTs(0),
  open(false), callbackOn(false), frames(0), dropped(0), lastTs(0), cbNanos(0)
{
}

FramePort::~FramePort()
{
    close();
}

void FramePort::createPort(unsigned bufferFrames, bool callback, unsigned clockRate,
                           unsigned frameMs, unsigned callbackFrames) PJSUA2_THROW(Error)
{
    if (pool || open) {
        PJSUA2_RAISE_ERROR2(PJ_EEXISTS, "FramePort::createPort()");
    }
    if (clockRate == 0 || frameMs == 0 || clockRate * frameMs % 1000 != 0 ||
        callbackFrames == 0 || callbackFrames > 1000) {
        PJSUA2_RAISE_ERROR2(PJ_EINVAL, "FramePort::createPort()");
    }
    ensure_pj_thread();

    unsigned samples = clockRate * frameMs / 1000;
    bytesPerFrame = samples * 2;
    capacity = bufferFrames;
    {
        std::lock_guard<std::mutex> g(bufLock);
        ring.assign((size_t)capacity * bytesPerFrame, 0);
        head = count = 0;
    }
    batchFrames = callbackFrames;
    batch.assign((size_t)batchFrames * bytesPerFrame, 0);
    batchCount = 0;
    batchTs = 0;
    frames = 0;
    dropped = 0;
    lastTs = 0;
    cbNanos = 0;

    pool = pjsua_pool_create("frameport%p", 512, 512);
    if (!pool) {
        PJSUA2_RAISE_ERROR2(PJ_ENOMEM, "FramePort::createPort()");
    }
    port = PJ_POOL_ZALLOC_T(pool, pjmedia_port);
    pj_str_t name;
    char buf[32];
    pj_ansi_snprintf(buf, sizeof(buf), "frameport%p", (void *)this);
    pj_strdup2_with_null(pool, &name, buf);
    pjmedia_port_info_init(&port->info, &name, FRAME_PORT_SIGNATURE, clockRate, 1, 16,
                           samples);
    port->port_data.pdata = this;
    port->put_frame = &FramePort::on_put_frame;
    port->get_frame = &FramePort::on_get_frame;
    port->on_destroy = &FramePort::on_destroy;

    callbackOn = callback;
    open = true;
    try {
        registerMediaPort2(port, pool);
    } catch (...) {
        open = false;
        callbackOn = false;
        port = NULL;
        pj_pool_release(pool);
        pool = NULL;
        throw;
    }
}

void FramePort::close()
{
    /* Flip the flags first, while the caller may still hold the GIL: a callback waiting
     * for the GIL re-checks them once it has it and then does not enter Python. */
    bool was_open = open.exchange(false);
    callbackOn = false;
    if (!pool && !was_open)
        return;

    /* Removing the port takes the bridge mutex, which the clock thread holds while it
     * may be waiting for the GIL in dispatch(): never wait for it with the GIL held. */
    PyThreadState *saved = NULL;
    if (python_usable() && PyGILState_Check())
        saved = PyEval_SaveThread();

    if (library_alive()) {
        ensure_pj_thread();
        if (id != PJSUA_INVALID_ID) {
            pjsua_conf_remove_port(id);
            id = PJSUA_INVALID_ID;
        }
        if (pool)
            pj_pool_release(pool);
    } else {
        /* libDestroy() already tore down the bridge and every pjsua pool. */
        id = PJSUA_INVALID_ID;
    }
    pool = NULL;
    port = NULL;

    if (saved)
        PyEval_RestoreThread(saved);
}

bool FramePort::isOpen() const
{
    return open;
}

void FramePort::onFrame(const FrameBytes &pcm, unsigned long long timestamp)
{
    PJ_UNUSED_ARG(pcm);
    PJ_UNUSED_ARG(timestamp);
}

void FramePort::setCallbackEnabled(bool enabled)
{
    callbackOn = enabled && open;
}

void FramePort::clearBuffer()
{
    std::lock_guard<std::mutex> g(bufLock);
    head = count = 0;
}

unsigned FramePort::frameBytes() const
{
    return bytesPerFrame;
}

unsigned FramePort::bufferedFrames()
{
    std::lock_guard<std::mutex> g(bufLock);
    return count;
}

unsigned long long FramePort::frameCount() const
{
    return frames;
}

unsigned long long FramePort::droppedFrames() const
{
    return dropped;
}

unsigned long long FramePort::lastTimestamp() const
{
    return lastTs;
}

unsigned long long FramePort::callbackNanos() const
{
    return cbNanos;
}

unsigned FramePort::readInto(std::vector<char> &out, unsigned maxFrames)
{
    std::lock_guard<std::mutex> g(bufLock);
    unsigned n = count;
    if (maxFrames && maxFrames < n)
        n = maxFrames;
    out.resize((size_t)n * bytesPerFrame);
    unsigned first = n;
    if (head + n > capacity)
        first = capacity - head;
    if (first)
        std::memcpy(out.data(), &ring[(size_t)head * bytesPerFrame],
                    (size_t)first * bytesPerFrame);
    if (n > first)
        std::memcpy(out.data() + (size_t)first * bytesPerFrame, ring.data(),
                    (size_t)(n - first) * bytesPerFrame);
    if (capacity)
        head = (head + n) % capacity;
    count -= n;
    return n;
}

void *FramePort::readPyBytes(unsigned maxFrames)
{
    /* Caller holds the GIL. The bridge thread waits for bufLock at most for two memcpy. */
    std::lock_guard<std::mutex> g(bufLock);
    unsigned n = count;
    if (maxFrames && maxFrames < n)
        n = maxFrames;
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n * bytesPerFrame);
    if (!bytes)
        return NULL;
    char *dst = PyBytes_AS_STRING(bytes);
    unsigned first = n;
    if (head + n > capacity)
        first = capacity - head;
    if (first)
        std::memcpy(dst, &ring[(size_t)head * bytesPerFrame], (size_t)first * bytesPerFrame);
    if (n > first)
        std::memcpy(dst + (size_t)first * bytesPerFrame, ring.data(),
                    (size_t)(n - first) * bytesPerFrame);
    if (capacity)
        head = (head + n) % capacity;
    count -= n;
    return bytes;
}

void FramePort::putFrame(const pjmedia_frame *frame)
{
    /* The bridge sends NONE "heart-beat" frames while nothing transmits to us; only audio
     * counts. */
    if (!open || frame->type != PJMEDIA_FRAME_TYPE_AUDIO || !frame->buf || !frame->size)
        return;
    size_t size = frame->size < bytesPerFrame ? frame->size : bytesPerFrame;
    unsigned long long ts = frame->timestamp.u64;
    ++frames;
    lastTs = ts;

    if (capacity) {
        std::lock_guard<std::mutex> g(bufLock);
        if (count == capacity) {
            head = (head + 1) % capacity;
            --count;
            ++dropped;
        }
        char *dst = &ring[(size_t)((head + count) % capacity) * bytesPerFrame];
        std::memcpy(dst, frame->buf, size);
        if (size < bytesPerFrame)
            std::memset(dst + size, 0, bytesPerFrame - size);
        ++count;
    }

    if (callbackOn) {
        if (batchFrames == 1) {
            FrameBytes pcm = {(const char *)frame->buf, size};
            dispatch(pcm, ts);
        } else {
            if (batchCount == 0)
                batchTs = ts;
            char *dst = &batch[(size_t)batchCount * bytesPerFrame];
            std::memcpy(dst, frame->buf, size);
            if (size < bytesPerFrame)
                std::memset(dst + size, 0, bytesPerFrame - size);
            if (++batchCount == batchFrames) {
                FrameBytes pcm = {batch.data(), batch.size()};
                batchCount = 0;
                dispatch(pcm, batchTs);
            }
        }
    }
}

void FramePort::dispatch(const FrameBytes &pcm, unsigned long long ts)
{
    if (!python_usable())
        return;
    unsigned long long t0 = now_ns();
    /* PyGILState_Ensure() on a thread without a Python thread state creates one and
     * PyGILState_Release() deletes it again: ~100 us per frame. Keep one for the life of
     * the bridge clock thread (taken once, never released; it dies with the thread). */
    static thread_local bool has_tstate = false;
    if (!has_tstate) {
        PyGILState_Ensure();
        PyEval_SaveThread();
        has_tstate = true;
    }
    PyGILState_STATE gs = PyGILState_Ensure();
    /* Re-check under the GIL: close() (from a destructor, GIL held) clears these before it
     * lets go of the GIL, so we never call into a Python object being deallocated. */
    if (open && callbackOn) {
        try {
            onFrame(pcm, ts);
        } catch (...) {
            /* A director exception must not unwind through the bridge's C code. */
            if (PyErr_Occurred())
                PyErr_Print();
        }
    }
    PyGILState_Release(gs);
    cbNanos += now_ns() - t0;
}

pj_status_t FramePort::on_put_frame(pjmedia_port *p, pjmedia_frame *frame)
{
    FramePort *self = (FramePort *)p->port_data.pdata;
    if (self)
        self->putFrame(frame);
    return PJ_SUCCESS;
}

pj_status_t FramePort::on_get_frame(pjmedia_port *p, pjmedia_frame *frame)
{
    PJ_UNUSED_ARG(p);
    frame->type = PJMEDIA_FRAME_TYPE_NONE;
    frame->size = 0;
    return PJ_SUCCESS;
}

pj_status_t FramePort::on_destroy(pjmedia_port *p)
{
    p->port_data.pdata = NULL;
    return PJ_SUCCESS;
}

} /* namespace pj */
