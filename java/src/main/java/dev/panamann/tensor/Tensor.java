package dev.panamann.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense float32 tensor in row-major (C) order, held off-heap in a 64-byte-aligned
 * {@link MemorySegment}.
 *
 * <p>A tensor made by {@link #zeros} and friends owns an {@link Arena}; {@link #close()} frees
 * its memory, and any use after that throws {@link IllegalStateException} naming the tensor.
 * {@link #reshape} and {@link #slice} return <em>views</em>: they share the memory of their
 * parent, never copy, and become unusable when the parent is closed (closing a view does
 * nothing). Copies are always explicit ({@link #copy()}, {@link #copyFrom}).
 *
 * <p>The value and gradient of a {@link Param} (and an optimizer's state of it) may be held,
 * between training steps, in another order of the same values: the blocked order a native
 * convolution reads and writes directly ({@link StorageOrder}). Every read or write of such a
 * tensor's values through this class ({@link #segment()}, {@link #get}, {@link #copyFrom},
 * {@link #toArray()} and the rest, on the tensor or a view of it made later) first puts them
 * back in row-major order, so code outside the training step always sees row-major values;
 * only the step's own code reads the memory as it is ({@link #storage()}).
 */
public final class Tensor implements AutoCloseable {
    /** Alignment in bytes of every allocation (one cache line, one AVX-512 vector). */
    public static final long ALIGNMENT = 64;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int[] shape;
    private final long size;
    private final MemorySegment segment;
    private final Arena arena;        // null for views
    private final Tensor owner;       // the tensor that owns the memory (this, for owners)
    private boolean closed;
    /** Restores row-major order before the values are used; null for a tensor that is always row-major. */
    private Guard guard;

    private Tensor(int[] shape, MemorySegment segment, Arena arena, Tensor owner) {
        this(shape, segment, arena, owner, null);
    }

    private Tensor(int[] shape, MemorySegment segment, Arena arena, Tensor owner, Guard guard) {
        this.shape = shape;
        this.size = segment.byteSize() / Float.BYTES;
        this.segment = segment;
        this.arena = arena;
        this.owner = owner == null ? this : owner;
        this.guard = guard;
    }

    /**
     * What a tensor whose memory may hold another order than row-major calls before its values
     * are used ({@link Param}'s value, gradient and optimizer state).
     */
    interface Guard {
        /** Puts the values of every tensor this guard covers in row-major order (a no-op when they are). */
        void rowMajor();

        /** The order the values are held in now; null when row-major. */
        StorageOrder order();
    }

    /** Whether this tensor is a view of another one's memory. */
    boolean isView() { return owner != this; }

    /** The guard covering this tensor, or null. */
    Guard guard() { return guard; }

    /** Covers this tensor, and the views made of it from now on, by {@code g}. */
    void guard(Guard g) { guard = g; }

    private void rowMajor() {
        Guard g = guard;
        if (g != null) g.rowMajor();
    }

    // ------------------------------------------------------------------ creation

    /** A new zero-filled tensor of the given shape, owning its memory. */
    public static Tensor zeros(int... shape) {
        int[] s = checkShape(shape);
        long n = count(s);
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(Math.max(1, n) * Float.BYTES, ALIGNMENT).asSlice(0, n * Float.BYTES);
        return new Tensor(s, seg, arena, null);
    }

    /** A tensor of the given shape holding a copy of {@code data} (row-major). */
    public static Tensor of(float[] data, int... shape) {
        Tensor t = zeros(shape);
        if (data.length != t.size) {
            t.close();
            throw new IllegalArgumentException("data has " + data.length + " values but shape "
                    + Arrays.toString(shape) + " needs " + t.size);
        }
        MemorySegment.copy(data, 0, t.segment, F, 0, data.length);
        return t;
    }

    /** A tensor of the given shape filled with {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        t.fill(value);
        return t;
    }

    /** Values drawn from N(0, std^2) with the given generator: the same on every backend. */
    public static Tensor randn(Rng rng, float std, int... shape) {
        Tensor t = zeros(shape);
        for (long i = 0; i < t.size; i++) t.setFlat(i, (float) (rng.nextGaussian() * std));
        return t;
    }

    /** Values drawn uniformly from [lo, hi) with the given generator. */
    public static Tensor uniform(Rng rng, float lo, float hi, int... shape) {
        Tensor t = zeros(shape);
        for (long i = 0; i < t.size; i++) t.setFlat(i, (float) (lo + (hi - lo) * rng.nextDouble()));
        return t;
    }

    /**
     * Wraps memory that somebody else owns (for instance a slice of a larger buffer): the
     * tensor is a view; its life is the segment's.
     */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        int[] s = checkShape(shape);
        long n = count(s);
        if (segment.byteSize() != n * Float.BYTES) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes does not hold shape "
                    + Arrays.toString(s) + " (" + n * Float.BYTES + " bytes)");
        }
        return new Tensor(s, segment, null, null);
    }

    // ------------------------------------------------------------------ shape

    /** A copy of the shape. */
    public int[] shape() { return shape.clone(); }

    /** Size of dimension {@code d} (negative counts from the end). */
    public int dim(int d) { return shape[d < 0 ? shape.length + d : d]; }

    /** Number of dimensions. */
    public int rank() { return shape.length; }

    /** Number of elements. */
    public long size() { return size; }

    /** Number of elements as an int, for code that indexes Java arrays; throws if too large. */
    public int sizeInt() { return Math.toIntExact(size); }

    /** True when the shapes are equal. */
    public boolean sameShape(Tensor other) { return Arrays.equals(shape, other.shape); }

    /** True when the shape equals {@code dims}. */
    public boolean hasShape(int... dims) { return Arrays.equals(shape, dims); }

    /** The shape as text, e.g. {@code [2, 3]}. */
    public String shapeString() { return Arrays.toString(shape); }

    /**
     * Throws {@link IllegalArgumentException} naming both shapes unless this tensor has
     * shape {@code expected}. {@code what} names the argument in the message.
     */
    public Tensor requireShape(String what, int... expected) {
        checkOpen();
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException(what + ": expected shape " + Arrays.toString(expected)
                    + " but got " + Arrays.toString(shape));
        }
        return this;
    }

    // ------------------------------------------------------------------ views

    /** A view with another shape of the same number of elements; one dimension may be -1. */
    public Tensor reshape(int... newShape) {
        checkOpen();
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one -1 allowed in reshape " + Arrays.toString(newShape));
                infer = i;
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0 && known > 0) {
            long inferred = size / known;
            if (inferred > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " (" + size
                        + " values) to " + Arrays.toString(newShape) + ": the -1 dimension would be " + inferred
                        + ", more than an int holds");
            }
            s[infer] = (int) inferred;
        }
        if (count(checkShape(s)) != size) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " (" + size
                    + " values) to " + Arrays.toString(newShape));
        }
        return new Tensor(s, segment, null, owner, guard);
    }

    /** A view of rows {@code [from, to)} along the first dimension. */
    public Tensor slice(int from, int to) {
        checkOpen();
        if (shape.length == 0 || from < 0 || to > shape[0] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of shape " + Arrays.toString(shape));
        }
        long row = shape[0] == 0 ? 0 : size / shape[0];
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(s, segment.asSlice(from * row * Float.BYTES, (to - from) * row * Float.BYTES), null, owner, guard);
    }

    // ------------------------------------------------------------------ data

    /** The memory of this tensor, its values in row-major order; throws if closed. */
    public MemorySegment segment() {
        checkOpen();
        rowMajor();
        return segment;
    }

    /**
     * The memory of this tensor as it is held: for a param's value, gradient or optimizer state
     * between training steps perhaps in {@link #storageOrder()} instead of row-major order.
     * For the training step's own code (layers, ops, optimizers), which either works element by
     * element on tensors held in the same order or checks the order; everything else uses
     * {@link #segment()}. Throws if closed.
     */
    public MemorySegment storage() {
        checkOpen();
        return segment;
    }

    /** The order {@link #storage()} holds the values in now: null for row-major. */
    public StorageOrder storageOrder() {
        Guard g = guard;
        return g == null ? null : g.order();
    }

    public float getFlat(long i) {
        rowMajor();
        return segment.getAtIndex(F, i);
    }

    public void setFlat(long i, float v) {
        rowMajor();
        segment.setAtIndex(F, i, v);
    }

    /** Element at a full index (slow; for tests and small code). */
    public float get(int... idx) { return getFlat(offset(idx)); }

    /** Sets the element at a full index (slow; for tests and small code). */
    public void set(float v, int... idx) { setFlat(offset(idx), v); }

    /** Fills every element with {@code v}. */
    public Tensor fill(float v) {
        checkOpen();
        rowMajor();
        if (v == 0f) segment.fill((byte) 0);
        else for (long i = 0; i < size; i++) segment.setAtIndex(F, i, v);
        return this;
    }

    /** Copies all values of {@code src} (same number of elements) into this tensor. */
    public Tensor copyFrom(Tensor src) {
        checkOpen();
        src.checkOpen();
        rowMajor();
        src.rowMajor();
        if (src.size != size) {
            throw new IllegalArgumentException("copyFrom: source shape " + src.shapeString()
                    + " does not match destination shape " + shapeString());
        }
        MemorySegment.copy(src.segment, 0, segment, 0, size * Float.BYTES);
        return this;
    }

    /** Copies {@code data} (row-major, same number of elements) into this tensor. */
    public Tensor copyFrom(float[] data) {
        checkOpen();
        if (data.length != size) {
            throw new IllegalArgumentException("copyFrom: " + data.length + " values for shape " + shapeString());
        }
        rowMajor();
        MemorySegment.copy(data, 0, segment, F, 0, data.length);
        return this;
    }

    /** A new tensor, owning its memory, with the same shape and values. */
    public Tensor copy() {
        Tensor t = zeros(shape);
        return t.copyFrom(this);
    }

    /** The values as a Java array (a copy). */
    public float[] toArray() {
        checkOpen();
        rowMajor();
        return segment.toArray(F);
    }

    // ------------------------------------------------------------------ life

    /** True when this tensor (or the tensor that owns its memory) was closed. */
    public boolean isClosed() {
        return owner.closed || !segment.scope().isAlive();
    }

    /** Throws {@link IllegalStateException} if this tensor can no longer be used. */
    public void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException("tensor of shape " + Arrays.toString(shape) + " is closed"
                    + (owner != this ? " (it is a view of a tensor that was closed)" : ""));
        }
    }

    /** Frees the memory of an owning tensor; does nothing for views or when already closed. */
    @Override
    public void close() {
        if (arena != null && !closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        if (isClosed()) return "Tensor" + Arrays.toString(shape) + "(closed)";
        StringBuilder sb = new StringBuilder("Tensor").append(Arrays.toString(shape)).append('[');
        long n = Math.min(size, 8);
        for (long i = 0; i < n; i++) sb.append(i == 0 ? "" : ", ").append(getFlat(i));
        return sb.append(size > n ? ", ...]" : "]").toString();
    }

    // ------------------------------------------------------------------ helpers

    private long offset(int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(idx) + " has " + idx.length
                    + " dimensions but the tensor has shape " + Arrays.toString(shape));
        }
        long off = 0;
        for (int d = 0; d < idx.length; d++) {
            if (idx[d] < 0 || idx[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " out of shape " + Arrays.toString(shape));
            }
            off = off * shape[d] + idx[d];
        }
        return off;
    }

    private static int[] checkShape(int[] shape) {
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }
        return shape.clone();
    }

    /**
     * The largest number of elements a tensor may have: its byte size must fit a long, and
     * indexing by element must too. Larger shapes are rejected before anything is allocated.
     */
    public static final long MAX_ELEMENTS = Long.MAX_VALUE / Float.BYTES;

    /**
     * Number of elements of {@code shape}, checked: throws {@link IllegalArgumentException}
     * naming the shape when a dimension is negative or the product overflows
     * {@link #MAX_ELEMENTS} (a product with a zero dimension is 0).
     */
    public static long elementCount(int... shape) {
        return count(checkShape(shape));
    }

    private static long count(int[] shape) {
        for (int d : shape) if (d == 0) return 0;
        long n = 1;
        for (int d : shape) {
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                n = Long.MAX_VALUE;
            }
            if (n > MAX_ELEMENTS) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has too many elements for a tensor"
                        + " (more than " + MAX_ELEMENTS + ")");
            }
        }
        return n;
    }
}
