package dev.panamann.data;

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
 */
public final class Batcher implements AutoCloseable {
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
        MemorySegment src = data.x().segment(), dst = x.segment();
        int n = data.size();
        int[] labels = data.y();
        for (int i = 0; i < count; i++) {
            int r = order[from + i];
            if (r < 0 || r >= n) {
                throw new IndexOutOfBoundsException("example index " + r + " (position " + (from + i)
                        + ") is outside the dataset of " + n + " examples");
            }
            if (flip && rng.nextInt(2) == 1) {
                copyMirrored(src, r * rowBytes, dst, i * rowBytes);
            } else {
                MemorySegment.copy(src, r * rowBytes, dst, i * rowBytes, rowBytes);
            }
            y[i] = labels[r];
        }
        rows = count;
        return view(count);
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
