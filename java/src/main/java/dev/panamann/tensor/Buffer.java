package dev.panamann.tensor;

import dev.panamann.tensor.Tensor;
import java.util.Arrays;

/**
 * A reusable off-heap buffer for a layer's output or gradient. {@link #get} hands out a view of
 * the requested shape over storage that only grows: asking again for the same shape returns
 * the same view without touching memory, a smaller shape reuses the storage, and only a shape
 * with more elements than ever before allocates (and frees the old storage). A training loop
 * with a fixed batch size therefore allocates on its first step only, and switching between
 * two batch sizes (training and evaluation) does not reallocate either.
 *
 * <p>Views handed out earlier become unusable when the storage grows or the buffer is closed.
 */
public final class Buffer implements AutoCloseable {
    private Tensor storage;
    private Tensor view;
    private boolean closed;

    /**
     * A view of the given shape; its contents are whatever was there before (callers overwrite).
     *
     * @param shape the wanted shape
     */
    public Tensor get(int... shape) {
        if (view != null && view.hasShape(shape)) return view;
        return resize(shape);
    }

    /**
     * {@link #get(int...)} for a matrix, without a varargs array per call.
     *
     * @param rows first dimension
     * @param cols second dimension
     */
    public Tensor get(int rows, int cols) {
        if (view != null && view.rank() == 2 && view.dim(0) == rows && view.dim(1) == cols) return view;
        return resize(new int[] {rows, cols});
    }

    /**
     * A view with the same shape as {@code like}.
     *
     * @param like any tensor, (d0, d1, ...)
     */
    public Tensor like(Tensor like) {
        if (view != null && view.sameShape(like)) return view;
        return resize(like.shape());
    }

    /** The view handed out last, or null before the first {@link #get}. */
    public Tensor current() { return view; }

    private Tensor resize(int[] shape) {
        if (closed) throw new IllegalStateException("buffer is closed");
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= d;
        }
        if (storage == null || storage.size() < n) {
            if (storage != null) storage.close();
            storage = Tensor.zeros(Math.toIntExact(n));
        }
        view = storage.slice(0, (int) n).reshape(shape);
        return view;
    }

    /** Frees the storage; later {@link #get} calls throw {@link IllegalStateException}. */
    @Override
    public void close() {
        closed = true;
        view = null;
        if (storage != null) storage.close();
        storage = null;
    }
}
