/*
 * dialer: FramePort, a conference-bridge port that hands received audio to Python.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * pjsua2 2.12 has no AudioMediaPort. FramePort is our own AudioMedia subclass: it creates a
 * pjmedia_port (default 8 kHz, 16-bit mono, 20 ms = 160 samples = 320 bytes), registers it
 * in the conference bridge with registerMediaPort2() like ToneGenerator does, and for every
 * audio frame the bridge puts into it:
 *   - appends the frame to a ring buffer that Python drains with read() (pull, cheap), and/or
 *   - calls the virtual onFrame(pcm, timestamp), overridable in Python (SWIG director).
 * The bridge side (get_frame) produces no audio: FramePort is a sink.
 *
 * Threads: put_frame runs on the conference bridge clock thread. The ring buffer is guarded
 * by a std::mutex, so read() and the counters need no pjlib thread registration and may be
 * called from any Python thread. createPort() and close() call into pjsua and must run on a
 * thread registered with pjlib (the PJSIP thread). See docs/engine.md.
 *
 * This file is compiled into the Python extension only (frame_port.cpp uses the Python C
 * API to take the GIL around the callback and to build bytes objects).
 */
#ifndef DIALER_FRAME_PORT_HPP
#define DIALER_FRAME_PORT_HPP

#include <pjsua2/media.hpp>

#include <atomic>
#include <mutex>
#include <vector>

namespace pj
{

/** A view of one frame's PCM bytes; Python receives it as a real `bytes` object. */
struct FrameBytes
{
    const char *data;
    size_t size;
};

class FramePort : public AudioMedia
{
public:
    FramePort();
    virtual ~FramePort();

    /**
     * Create the media port and add it to the conference bridge.
     *
     * @param bufferFrames  capacity of the read() ring buffer in frames (0 disables it;
     *                      when full the oldest frame is dropped and droppedFrames() grows).
     * @param callback      call onFrame() for every frame (on the bridge clock thread).
     * @param clockRate     port clock rate; use the bridge's (medConfig.clockRate).
     * @param frameMs       frame length in ms; use the bridge's (medConfig.audioFramePtime).
     * @param callbackFrames  frames per onFrame() call (batching: pcm then holds this many
     *                      consecutive frames, timestamp is the first one's).
     */
    void createPort(unsigned bufferFrames = 50, bool callback = false,
                    unsigned clockRate = 8000, unsigned frameMs = 20,
                    unsigned callbackFrames = 1)
                    PJSUA2_THROW(Error);

    /**
     * Stop delivery and remove the port from the bridge. After it returns no callback is
     * running or will run. Idempotent; the destructor calls it too. Call it on the PJSIP
     * thread while the library is alive.
     */
    void close();

    /** True between createPort() and close(). */
    bool isOpen() const;

    /**
     * Called for each received audio frame when created with callback=true.
     * @param pcm        frame bytes (signed 16-bit little-endian mono), callbackFrames
     *                   frames long
     * @param timestamp  bridge clock of the (first) frame, in samples
     */
    virtual void onFrame(const FrameBytes &pcm, unsigned long long timestamp);

    /** Turn the onFrame() callback on or off at run time. */
    void setCallbackEnabled(bool enabled);

    /** Discard buffered frames. */
    void clearBuffer();

    /** Bytes of one frame (320 at 8 kHz / 20 ms). */
    unsigned frameBytes() const;
    /** Frames waiting in the ring buffer. */
    unsigned bufferedFrames();
    /** Audio frames received from the bridge since createPort(). */
    unsigned long long frameCount() const;
    /** Frames lost because the ring buffer was full. */
    unsigned long long droppedFrames() const;
    /** Bridge timestamp (samples) of the newest frame received, 0 if none. */
    unsigned long long lastTimestamp() const;
    /** Total time spent inside onFrame() (including taking the GIL), in nanoseconds. */
    unsigned long long callbackNanos() const;

#ifndef SWIG
    /** Copy up to maxFrames (0 = all) buffered frames into out; returns frames copied. */
    unsigned readInto(std::vector<char> &out, unsigned maxFrames);
    /** Implementation of the Python read(): a new bytes object (GIL held by caller). */
    void *readPyBytes(unsigned maxFrames);

private:
    static pj_status_t on_put_frame(pjmedia_port *port, pjmedia_frame *frame);
    static pj_status_t on_get_frame(pjmedia_port *port, pjmedia_frame *frame);
    static pj_status_t on_destroy(pjmedia_port *port);
    void putFrame(const pjmedia_frame *frame);
    void dispatch(const FrameBytes &pcm, unsigned long long ts);

    pj_pool_t *pool;
    pjmedia_port *port;

    std::mutex bufLock;          /* guards ring, head, count */
    std::vector<char> ring;
    unsigned capacity;           /* frames */
    unsigned head;               /* index of oldest frame */
    unsigned count;              /* frames buffered */
    unsigned bytesPerFrame;

    std::vector<char> batch;     /* bridge thread only: frames waiting for onFrame() */
    unsigned batchFrames;        /* frames per onFrame() call */
    unsigned batchCount;
    unsigned long long batchTs;

    std::atomic<bool> open;
    std::atomic<bool> callbackOn;
    std::atomic<unsigned long long> frames;
    std::atomic<unsigned long long> dropped;
    std::atomic<unsigned long long> lastTs;
    std::atomic<unsigned long long> cbNanos;
#endif
};

} /* namespace pj */

#endif /* DIALER_FRAME_PORT_HPP */
