package dev.panamann.data;

import dev.panamann.optim.UpdateThreads;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Copies minibatches of a {@link Dataset} into one reused batch tensor, so that a training
 * step allocates nothing. {@link #sample()} draws indices with replacement, as cs231n's
 * solver does ({@code np.random.choice}); {@link #load(int[], int, int)} copies given rows.
 *
 * <p>Epochs: {@link #startEpoch(boolean, boolean)} reshuffles a reused order array with the
 * batcher's generator (or keeps the data order), then {@link #nextBatch()} walks it:
 * <pre>{@code
 * batcher.startEpoch(true, true);
 * while (batcher.nextBatch()) {
 *     model.forward(batcher.batch(), Mode.TRAIN);  // (batchRows, ...)
 *     ... batcher.y() ...                          // first batchRows labels
 * }
 * }</pre>
 * Nothing is allocated in the steady state: the order array is made once, and the view used
 * for a short batch is made once per distinct row count. Dropping the short last batch keeps
 * every batch the same shape, so layers never re-allocate their buffers.
 *
 * <p>A batch of {@value #SPLIT_MIN_BYTES} bytes or more is copied by the library's worker
 * threads ({@link UpdateThreads}) when they are free, each copying its share of the rows; the
 * batch is the same either way (the flips are drawn in row order on the calling thread).
 */
public final class Batcher implements AutoCloseable {
    /** Batches at least this large (bytes) are copied on the worker threads when they are free. */
    static final long SPLIT_MIN_BYTES = 1L << 20;

    private final Dataset data;
    private final int batchSize;
    private final Rng rng;
    private final Tensor x;
    private final int[] y;
    private final int[] idx;
    private final long rowBytes;
    private int[] order;
    private int position;
    private boolean dropLast;
    private int rows;
    private Tensor shortView;
    private boolean flip;
    /** Per row of the batch being loaded: whether it is mirrored. */
    private final boolean[] mirror;
    private final UpdateThreads.Task copyTask = this::copyPart;
    // the rows being copied (set by load for copyPart)
    private int[] copyOrder;
    private int copyFrom, copyCount;

    /**
     * @param data      x (N, ...), y N labels; must stay open while the batcher is used
     * @param batchSize rows of a batch (>= 1)
     * @param rng       generator for {@link #sample()} and shuffled epochs
     */
    public Batcher(Dataset data, int batchSize, Rng rng) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.data = data;
        this.batchSize = batchSize;
        this.rng = rng;
        int[] shape = data.x().shape();
        shape[0] = batchSize;
        this.x = Tensor.zeros(shape);
        this.y = new int[batchSize];
        this.idx = new int[batchSize];
        this.mirror = new boolean[batchSize];
        this.rowBytes = (long) Preprocess.features(data.x()) * Float.BYTES;
    }

    /** Fills the batch with {@code batchSize} random examples (with replacement). */
    public void sample() {
        if (data.size() == 0) throw new IllegalStateException("cannot sample from an empty dataset");
        for (int i = 0; i < batchSize; i++) idx[i] = rng.nextInt(data.size());
        load(idx, 0, batchSize);
    }

    /**
     * Copies examples {@code order[from .. from+count)} into the first {@code count} rows.
     *
     * @param order row numbers of the dataset, each in [0, N)
     * @param from  first position of {@code order} to copy
     * @param count rows to copy, 0..batchSize
     * @return a view of the first {@code count} rows of the batch tensor, (count, ...)
     */
    public Tensor load(int[] order, int from, int count) {
        if (count < 0 || count > batchSize) {
            throw new IllegalArgumentException("count " + count + " must be in 0..batch size " + batchSize);
        }
        if (from < 0 || from + count > order.length) {
            throw new IndexOutOfBoundsException("positions [" + from + ", " + (from + count) + ") are outside the order array of "
                    + order.length);
        }
        int n = data.size();
        int[] labels = data.y();
        for (int i = 0; i < count; i++) {
            int r = order[from + i];
            if (r < 0 || r >= n) {
                throw new IndexOutOfBoundsException("example index " + r + " (position " + (from + i)
                        + ") is outside the dataset of " + n + " examples");
            }
            mirror[i] = flip && rng.nextInt(2) == 1;
            y[i] = labels[r];
        }
        copyOrder = order;
        copyFrom = from;
        copyCount = count;
        try {
            // x is this batcher's own tensor (shared memory); the dataset's may be confined to a thread
            boolean split = count * rowBytes >= SPLIT_MIN_BYTES && UpdateThreads.reachable(data.x().segment())
                    && UpdateThreads.tryRun(2, copyTask);
            if (!split) copyPart(0, 1);
        } finally {
            copyOrder = null;
        }
        rows = count;
        return view(count);
    }

    /** Copies part {@code part} of {@code parts} of the rows {@link #load} checked. */
    private void copyPart(int part, int parts) {
        MemorySegment src = data.x().segment(), dst = x.segment();
        int start = (int) ((long) copyCount * part / parts), end = (int) ((long) copyCount * (part + 1) / parts);
        for (int i = start; i < end; i++) {
            long r = copyOrder[copyFrom + i];
            if (mirror[i]) copyMirrored(src, r * rowBytes, dst, i * rowBytes);
            else MemorySegment.copy(src, r * rowBytes, dst, i * rowBytes, rowBytes);
        }
    }

    /**
     * Starts an epoch: the next calls to {@link #nextBatch()} walk every example once.
     *
     * @param shuffle  true: a new random order from the batcher's generator; false: data order
     * @param dropLast true: skip the final batch when it would be shorter than batchSize
     */
    public void startEpoch(boolean shuffle, boolean dropLast) {
        int n = data.size();
        if (order == null || order.length != n) order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (shuffle) rng.shuffle(order);
        this.dropLast = dropLast;
        position = 0;
    }

    /**
     * Loads the next batch of the epoch started by {@link #startEpoch}.
     *
     * @return false when the epoch is over (nothing was loaded)
     */
    public boolean nextBatch() {
        if (order == null) throw new IllegalStateException("call startEpoch before nextBatch");
        int left = order.length - position;
        if (left <= 0 || (dropLast && left < batchSize)) return false;
        int count = Math.min(batchSize, left);
        load(order, position, count);
        position += count;
        return true;
    }

    /** Number of batches {@link #nextBatch()} yields in one epoch. */
    public int batchesPerEpoch(boolean dropLast) {
        int n = data.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The rows loaded by the last call, (batchRows, ...): the batch tensor or a view of it. */
    public Tensor batch() { return view(rows); }

    /** Rows loaded by the last call (batchSize for {@link #sample()}). */
    public int batchRows() { return rows; }

    /** The batch tensor, (batchSize, ...): reused by every call. */
    public Tensor x() { return x; }

    /** The labels of the batch: reused by every call; the first {@link #batchRows()} are valid. */
    public int[] y() { return y; }

    public int batchSize() { return batchSize; }

    /** The dataset the batches come from. */
    public Dataset data() { return data; }

    /**
     * Data augmentation: when on, each example copied into the batch is mirrored left to right
     * with probability 1/2 (drawn from this batcher's generator). Needs images, (N, C, H, W).
     *
     * @return this
     */
    public Batcher flipHorizontal(boolean on) {
        if (on && data.x().rank() != 4) {
            throw new IllegalArgumentException("horizontal flips need images (N, C, H, W), but the data has shape "
                    + data.x().shapeString());
        }
        this.flip = on;
        return this;
    }

    /** Copies one (C, H, W) example with every row reversed. */
    private void copyMirrored(MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        int w = data.x().dim(3);
        long rowsPerExample = rowBytes / Float.BYTES / w;
        for (long row = 0; row < rowsPerExample; row++) {
            long s = srcOff + row * w * Float.BYTES, d = dstOff + row * w * Float.BYTES;
            for (int j = 0; j < w; j++) {
                dst.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, d + (long) (w - 1 - j) * Float.BYTES,
                        src.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, s + (long) j * Float.BYTES));
            }
        }
    }

    private Tensor view(int count) {
        if (count == batchSize) return x;
        if (shortView == null || shortView.dim(0) != count) shortView = x.slice(0, count);
        return shortView;
    }

    @Override
    public void close() { x.close(); }
}
