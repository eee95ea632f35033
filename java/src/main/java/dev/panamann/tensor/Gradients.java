package dev.panamann.tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts the gradients of a list of {@link Param}s into one contiguous tensor, so that all of a
 * model's gradients can be averaged across processes by one in-place all-reduce with no copies.
 */
public final class Gradients {
    private Gradients() {}

    /**
     * Allocates one flat tensor holding every param's gradient in list order, copies each
     * current gradient into it and makes {@link Param#grad()} a view of it from then on; a
     * gradient packed before (into an earlier buffer) moves too, and its old tensor is freed
     * when it owned one. A param listed twice (or an alias made by {@link Param#withName}) is
     * packed once. The caller owns the result and closes it after the params are done with:
     * using a gradient after that throws {@link IllegalStateException}. Reading the buffer's
     * values ({@link Tensor#segment()} and the like) puts every gradient in row-major order
     * first ({@link Param}); {@link Tensor#storage()} has each in its param's current order.
     *
     * @param params the params, e.g. a model's {@code params()}
     * @return the buffer, 1-D, of the total gradient size
     */
    public static Tensor pack(List<Param> params) {
        Map<Param.GradSlot, Boolean> seen = new IdentityHashMap<>();
        long total = 0;
        for (Param p : params) {
            if (seen.put(p.gradSlot(), Boolean.TRUE) == null) total += p.grad().size();
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the gradients hold " + total + " values; a tensor holds at most "
                    + Integer.MAX_VALUE);
        }
        Tensor buffer = Tensor.zeros((int) total);
        List<Param> packed = new ArrayList<>();
        seen.clear();
        int offset = 0;
        for (Param p : params) {
            Param.GradSlot slot = p.gradSlot();
            if (seen.put(slot, Boolean.TRUE) != null) continue;
            Tensor old = slot.tensor();
            int n = old.sizeInt();
            Tensor view = buffer.slice(offset, offset + n).reshape(old.shape());
            view.copyFrom(old); // in row-major order (reading old puts its param's tensors in it)
            old.close(); // frees a gradient that owned its memory; a view of an earlier buffer stays with that buffer's owner
            slot.set(view);
            packed.add(p);
            offset += n;
        }
        // reading the whole buffer puts every gradient in it in row-major order first
        buffer.guard(new Tensor.Guard() {
            @Override
            public void rowMajor() {
                for (Param p : packed) p.useRowMajorOrder();
            }

            @Override
            public StorageOrder order() {
                return null; // not one order: each gradient is in its param's (Tensor#storage() of the buffer holds them so)
            }
        });
        return buffer;
    }
}
