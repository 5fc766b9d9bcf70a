/*
 * dialer: additions to the pjsua2 SWIG module, %include'd at the end of pjsua2.i by
 * scripts/build-pjsip. SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   - FramePort (frame_port.hpp): a conference-bridge sink that hands 20 ms PCM frames to
 *     Python, by director callback onFrame(pcm: bytes, timestamp: int) and/or by read().
 *   - engine facts: compiled-in limits and the effective capacity after libInit().
 */

%{
#include "frame_port.hpp"
%}

#ifdef SWIGPYTHON

/* The callback receives a real bytes object, never a str: PCM is not text. */
%typemap(directorin) const pj::FrameBytes & {
    $input = PyBytes_FromStringAndSize($1.data, (Py_ssize_t)$1.size);
}

/* FramePort.onFrame(self, pcm, ts) may also be called from Python (the base does nothing). */
%typemap(in) const pj::FrameBytes & (pj::FrameBytes tmp, char *tmpbuf = 0, Py_ssize_t tmplen = 0) {
    if (PyBytes_AsStringAndSize($input, &tmpbuf, &tmplen) < 0)
        SWIG_fail;
    tmp.data = tmpbuf;
    tmp.size = (size_t)tmplen;
    $1 = &tmp;
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_STRING) const pj::FrameBytes & {
    $1 = PyBytes_Check($input) ? 1 : 0;
}

%ignore pj::FrameBytes;

%feature("director") pj::FramePort;

/* The destructor runs with the GIL held so that FramePort::close() can mark the port
 * closed before any waiting bridge callback gets the GIL (it then lets go of the GIL
 * itself while it removes the port from the bridge). */
%feature("nothread") pj::FramePort::~FramePort;

/* read() builds a bytes object: it needs the GIL, which -threads would release. */
%feature("nothread") pj::FramePort::read;

/* One wrapper per method instead of one per default-argument combination. */
%feature("compactdefaultargs") pj::FramePort::read;
%feature("compactdefaultargs") pj::FramePort::createPort;
%feature("kwargs") pj::FramePort::read;
%feature("kwargs") pj::FramePort::createPort;

%feature("docstring") pj::FramePort "
Conference-bridge sink that hands received audio to Python.

    port = FramePort()                     # or a subclass overriding onFrame
    port.createPort(bufferFrames=50, callback=False, clockRate=8000, frameMs=20,
                    callbackFrames=1)
    call_audio_media.startTransmit(port)   # on the PJSIP thread
    pcm = port.read()                      # any thread: N*320 bytes, oldest first
    port.close()                           # on the PJSIP thread, before dropping it

onFrame(self, pcm: bytes, timestamp: int) runs on the bridge clock thread.
";

%extend pj::FramePort {
    /* Drain up to maxFrames buffered frames (0 = all) as one bytes object, oldest first;
     * b'' when nothing is buffered. Any thread; no pjlib registration needed. */
    PyObject *read(unsigned maxFrames = 0) {
        return (PyObject *)$self->readPyBytes(maxFrames);
    }
}

#endif /* SWIGPYTHON */

%include "frame_port.hpp"

/* Compiled-in limits (config_site.h) and effective values after libInit(). */
%{
static int engineCallCapacity() { return (int)pjsua_call_get_max_count(); }
static int engineConfPortCapacity() { return (int)pjsua_conf_get_max_ports(); }
%}
int engineCallCapacity();
int engineConfPortCapacity();

%constant int ENGINE_MAX_CALLS = PJSUA_MAX_CALLS;
%constant int ENGINE_MAX_CONF_PORTS = PJSUA_MAX_CONF_PORTS;
%constant int ENGINE_MAX_PLAYERS = PJSUA_MAX_PLAYERS;
%constant int ENGINE_MAX_RECORDERS = PJSUA_MAX_RECORDERS;
%constant int ENGINE_IOQUEUE_MAX_HANDLES = PJ_IOQUEUE_MAX_HANDLES;
%constant int ENGINE_MAX_TSX_COUNT = PJSIP_MAX_TSX_COUNT;
%constant int ENGINE_MAX_DIALOG_COUNT = PJSIP_MAX_DIALOG_COUNT;
%constant int ENGINE_FRAME_PORT = 1;
