package dev.panamann.data;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Makes augmented training minibatches on a producer thread of its own while the caller trains
 * on the previous one (double buffering): two reused off-heap batch tensors, so that the steady
 * state allocates nothing.
 *
 * <p>Batch {@code k} (the batch of training iteration {@code k}) holds {@code batchSize}
 * examples drawn at random with replacement, each shifted by a random crop and mirrored at
 * random as the {@link Augmentation} says. Its random draws come from a generator set to a
 * state that depends only on the seed and {@code k}, so a batch is the same whatever the
 * thread timing, and a run resumed at iteration {@code k} gets the batches an uninterrupted
 * run got: the iteration is the whole state.
 *
 * <pre>{@code
 * try (AugmentingLoader loader = new AugmentingLoader(train, 128, Augmentation.parse("crop,flip"), seed)) {
 *     for (int t = start; t < total; t++) {
 *         Tensor x = loader.next(t);              // waits for batch t; batch t + 1 is being made
 *         model.loss(x, loader.y());
 *         ...
 *     }
 * }
 * }</pre>
 * The tensor and labels of {@link #next} stay valid until the following call of
 * {@link #next}. One thread uses a loader at a time; {@link #close()} stops the producer and
 * frees the buffers.
 */
public final class AugmentingLoader implements AutoCloseable {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Dataset data;
    private final int batchSize, channels, height, width;
    private final Augmentation augmentation;
    private final long seed;
    private final Tensor[] x = new Tensor[2];
    private final int[][] y = new int[2][];
    private final Thread producer;

    // producer-only state
    private final Rng rng = new Rng(0);
    private final long[] rngState = new long[3];
    private final float[] src, dst;

    // shared state, guarded by lock
    private final Object lock = new Object();
    /** The iteration the consumer asks for next; it holds batch {@code want - 1}. */
    private long want = -1;
    /** The producer fills this iteration next. */
    private long nextFill = -1;
    /** Batches of iterations {@code < filled} (from {@code want}) are ready. */
    private long filled = -1;
    private boolean filling, closed;
    private RuntimeException failure;
    private long current = -1;

    /**
     * @param data         training images (N, C, H, W) and labels; must stay open while the loader is used
     * @param batchSize    examples per batch, &gt;= 1
     * @param augmentation what to apply to each example; the crop padding must be below H and W
     * @param seed         seed of the batches' draws
     */
    public AugmentingLoader(Dataset data, int batchSize, Augmentation augmentation, long seed) {
        if (data == null) throw new IllegalArgumentException("dataset is null");
        if (augmentation == null) throw new IllegalArgumentException("augmentation is null (use Augmentation.none())");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (data.x().rank() != 4) {
            throw new IllegalArgumentException("augmentation needs images (N, C, H, W), but the data has shape " + data.x().shapeString());
        }
        if (data.size() == 0) throw new IllegalArgumentException("cannot draw batches from an empty dataset");
        this.channels = data.x().dim(1);
        this.height = data.x().dim(2);
        this.width = data.x().dim(3);
        if (augmentation.cropPadding() >= height || augmentation.cropPadding() >= width) {
            throw new IllegalArgumentException("crop padding " + augmentation.cropPadding() + " must be smaller than the image ("
                    + height + " x " + width + ")");
        }
        this.data = data;
        this.batchSize = batchSize;
        this.augmentation = augmentation;
        this.seed = seed;
        int features = channels * height * width;
        this.src = new float[features];
        this.dst = new float[features];
        int[] shape = data.x().shape();
        shape[0] = batchSize;
        try {
            for (int i = 0; i < 2; i++) {
                x[i] = Tensor.zeros(shape);
                y[i] = new int[batchSize];
            }
        } catch (RuntimeException | Error e) {
            for (Tensor t : x) if (t != null) t.close();
            throw e;
        }
        this.producer = new Thread(this::produce, "panama-nn-augment");
        producer.setDaemon(true);
        producer.start();
    }

    /**
     * Batch {@code iteration}, waiting until it is made; the producer then starts on the one
     * after it. Asking for any other iteration than the one after the previous call restarts the
     * producer there (the first call, or after a resume).
     *
     * @param iteration the training iteration, &gt;= 0
     * @return the images of the batch, (batchSize, C, H, W): reused by every second call
     * @throws IllegalStateException when the loader is closed or making a batch failed
     */
    public Tensor next(long iteration) {
        if (iteration < 0) throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
        synchronized (lock) {
            checkUsable();
            if (iteration != want) {
                boolean interrupted = false;
                while (filling) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // the wait is short: finish it, keep the flag
                    }
                }
                if (interrupted) Thread.currentThread().interrupt();
                nextFill = filled = iteration;
            }
            want = iteration + 1; // the previous batch is released
            lock.notifyAll();
            while (filled <= iteration) {
                checkUsable();
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for batch " + iteration, e);
                }
            }
            current = iteration;
        }
        return x[(int) (iteration & 1)];
    }

    /** The labels of the batch {@link #next} returned last (reused); before any call, the first buffer's. */
    public int[] y() { return y[(int) (Math.max(current, 0) & 1)]; }

    /** Examples per batch. */
    public int batchSize() { return batchSize; }

    /** The augmentation applied. */
    public Augmentation augmentation() { return augmentation; }

    /** The id of the producer thread (for allocation measurements). */
    long producerThreadId() { return producer.threadId(); }

    private void checkUsable() {
        if (closed) throw new IllegalStateException("augmenting loader is closed");
        if (failure != null) throw new IllegalStateException("making a training batch failed: " + failure.getMessage(), failure);
    }

    private void produce() {
        while (true) {
            long k;
            synchronized (lock) {
                while (!closed && (want < 0 || nextFill > want)) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        // only close() ends the producer
                    }
                }
                if (closed) return;
                k = nextFill;
                filling = true;
            }
            RuntimeException error = null;
            try {
                fill(k, x[(int) (k & 1)], y[(int) (k & 1)]);
            } catch (RuntimeException e) {
                error = e;
            }
            synchronized (lock) {
                filling = false;
                if (error != null) failure = error;
                else if (nextFill == k) { // not restarted meanwhile (a restart waits for filling to end)
                    filled = nextFill = k + 1;
                }
                lock.notifyAll();
                if (error != null) return;
            }
        }
    }

    /** Makes batch {@code k} into {@code bx}, {@code by}. */
    private void fill(long k, Tensor bx, int[] by) {
        rngState[0] = batchSeed(seed, k);
        rngState[1] = 0;
        rngState[2] = 0;
        rng.setState(rngState);
        MemorySegment in = data.x().segment(), out = bx.segment();
        int n = data.size(), features = src.length, pad = augmentation.cropPadding();
        int[] labels = data.y();
        for (int i = 0; i < batchSize; i++) {
            int r = rng.nextInt(n);
            int dy = pad == 0 ? 0 : rng.nextInt(2 * pad + 1) - pad;
            int dx = pad == 0 ? 0 : rng.nextInt(2 * pad + 1) - pad;
            boolean mirror = augmentation.flip() && rng.nextInt(2) == 1;
            MemorySegment.copy(in, F, (long) r * features * Float.BYTES, src, 0, features);
            crop(src, dst, channels, height, width, dy, dx, mirror);
            MemorySegment.copy(dst, 0, out, F, (long) i * features * Float.BYTES, features);
            by[i] = labels[r];
        }
    }

    /** A start state for the generator of batch k: SplitMix64's finalizer of the seed and k. */
    static long batchSeed(long seed, long k) {
        return mix(mix(seed) + k);
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * One image (C, H, W) cropped at offset ({@code dy}, {@code dx}) from the image padded with
     * zeros, then mirrored left to right if asked:
     * {@code out[c][h][w] = in[c][h + dy][w' + dx]} with {@code w' = mirror ? W - 1 - w : w},
     * 0 where {@code h + dy} or {@code w' + dx} falls outside the image.
     *
     * @param in     the image, C * H * W values
     * @param out    the result, C * H * W values
     * @param dy     vertical offset, |dy| &lt; H
     * @param dx     horizontal offset, |dx| &lt; W
     * @param mirror whether to mirror the cropped image
     */
    public static void crop(float[] in, float[] out, int c, int h, int w, int dy, int dx, boolean mirror) {
        for (int ch = 0; ch < c; ch++) {
            int plane = ch * h * w;
            for (int row = 0; row < h; row++) {
                int o = plane + row * w, sr = row + dy;
                if (sr < 0 || sr >= h) {
                    for (int col = 0; col < w; col++) out[o + col] = 0f;
                    continue;
                }
                int s = plane + sr * w;
                // columns whose source w' + dx is inside: w' in [max(0, -dx), min(w, w - dx))
                int lo = Math.max(0, -dx), hi = Math.min(w, w - dx);
                if (!mirror) {
                    for (int col = 0; col < lo; col++) out[o + col] = 0f;
                    System.arraycopy(in, s + lo + dx, out, o + lo, hi - lo);
                    for (int col = hi; col < w; col++) out[o + col] = 0f;
                } else {
                    for (int col = 0; col < w; col++) {
                        int wp = w - 1 - col;
                        out[o + col] = wp >= lo && wp < hi ? in[s + wp + dx] : 0f;
                    }
                }
            }
        }
    }

    /** Stops the producer (waiting for a batch being made) and frees the batch buffers. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            lock.notifyAll();
            boolean interrupted = false;
            while (filling) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the buffers must not be freed under the producer
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
        for (Tensor t : x) t.close();
    }
}
