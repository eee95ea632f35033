package dev.panamann.data;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Copies minibatches of a {@link Dataset} into one reused batch tensor, so that a training
 * step allocates nothing. {@link #sample()} draws indices with replacement, as cs231n's
 * solver does ({@code np.random.choice}); {@link #load(int[], int, int)} copies given rows.
 */
public final class Batcher implements AutoCloseable {
    private final Dataset data;
    private final int batchSize;
    private final Rng rng;
    private final Tensor x;
    private final int[] y;
    private final int[] idx;
    private final long rowBytes;

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
        this.rowBytes = data.size() == 0 ? 0 : data.x().size() / data.size() * Float.BYTES;
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
     * @return a view of the first {@code count} rows of the batch tensor
     */
    public Tensor load(int[] order, int from, int count) {
        if (count > batchSize) throw new IllegalArgumentException("count " + count + " > batch size " + batchSize);
        MemorySegment src = data.x().segment(), dst = x.segment();
        for (int i = 0; i < count; i++) {
            int r = order[from + i];
            MemorySegment.copy(src, r * rowBytes, dst, i * rowBytes, rowBytes);
            y[i] = data.y()[r];
        }
        return count == batchSize ? x : x.slice(0, count);
    }

    /** The batch tensor, (batchSize, ...): reused by every call. */
    public Tensor x() { return x; }

    /** The labels of the batch: reused by every call. */
    public int[] y() { return y; }

    public int batchSize() { return batchSize; }

    @Override
    public void close() { x.close(); }
}
