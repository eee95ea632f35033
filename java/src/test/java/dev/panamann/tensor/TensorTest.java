package dev.panamann.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The rules of {@link Tensor}: owners and views, what close does, and the checks before allocation. */
class TensorTest {

    @Test
    void zerosIsAlignedZeroFilledAndKeepsItsOwnShape() {
        int[] shape = {3, 5, 7};
        try (Tensor t = Tensor.zeros(shape)) {
            shape[0] = 99;
            assertTrue(t.hasShape(3, 5, 7), "the tensor copies the shape it is given");
            t.shape()[1] = 42;
            assertTrue(t.hasShape(3, 5, 7), "shape() returns a copy");
            assertEquals(0, t.segment().address() % Tensor.ALIGNMENT, "64-byte aligned");
            assertEquals(105, t.size());
            for (float v : t.toArray()) assertEquals(0f, v);
            assertEquals(7, t.dim(-1));
            assertEquals(3, t.rank());
        }
        try (Tensor empty = Tensor.zeros(0, 4)) {
            assertEquals(0, empty.size());
            assertEquals(0, empty.toArray().length);
        }
    }

    @Test
    void reshapeAndSliceAreViewsOfTheSameMemory() {
        try (Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 4)) {
            Tensor r = t.reshape(2, -1);
            assertTrue(r.hasShape(2, 6), r.shapeString());
            r.set(100f, 1, 0);
            assertEquals(100f, t.get(1, 2), "a write through the reshaped view reaches the owner");
            Tensor rows = t.slice(1, 3);
            assertTrue(rows.hasShape(2, 4));
            assertEquals(4f, rows.get(0, 0));
            rows.set(-1f, 1, 3);
            assertEquals(-1f, t.get(2, 3), "a write through the slice reaches the owner");
            Tensor sliceOfView = r.reshape(12).reshape(6, 2).slice(5, 6);
            assertArrayEquals(new float[] {10, -1}, sliceOfView.toArray());
            assertTrue(t.slice(2, 2).hasShape(0, 4), "an empty slice is allowed");
        }
    }

    @Test
    void badReshapesAndSlicesNameTheShapes() {
        try (Tensor t = Tensor.zeros(3, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 2));
            assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 2]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.reshape(-1, -1));
            assertThrows(IllegalArgumentException.class, () -> t.reshape(5, -1), "12 is not a multiple of 5");
            assertThrows(IllegalArgumentException.class, () -> t.reshape(-3, -4));
            IndexOutOfBoundsException o = assertThrows(IndexOutOfBoundsException.class, () -> t.slice(2, 4));
            assertTrue(o.getMessage().contains("[2, 4)") && o.getMessage().contains("[3, 4]"), o.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.slice(-1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> t.slice(2, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> t.get(3, 0));
            assertThrows(IllegalArgumentException.class, () -> t.get(1));
        }
    }

    @Test
    void closingTheOwnerClosesEveryViewAndUseAfterCloseFailsLoudly() {
        Tensor t = Tensor.full(2f, 4, 4);
        Tensor view = t.reshape(16), rows = t.slice(0, 2), deep = view.reshape(2, 8).slice(1, 2);
        t.close();
        for (Tensor x : new Tensor[] {t, view, rows, deep}) {
            assertTrue(x.isClosed(), x.shapeString());
            IllegalStateException e = assertThrows(IllegalStateException.class, x::checkOpen);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, x::segment);
            assertThrows(IllegalStateException.class, x::toArray);
            assertThrows(IllegalStateException.class, () -> x.fill(1f));
            assertThrows(IllegalStateException.class, () -> x.getFlat(0), "element access goes through the closed arena");
            assertThrows(IllegalStateException.class, () -> x.setFlat(0, 1f));
            assertThrows(IllegalStateException.class, () -> x.reshape(-1));
            assertTrue(x.toString().contains("closed"), x.toString());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, view::checkOpen);
        assertTrue(e.getMessage().contains("view of a tensor that was closed"), e.getMessage());
        t.close();  // a second close is a no-op
        try (Tensor dst = Tensor.zeros(16)) {
            assertThrows(IllegalStateException.class, () -> dst.copyFrom(view), "a closed source is refused");
        }
    }

    @Test
    void closingAViewLeavesTheOwnerAlone() {
        try (Tensor t = Tensor.full(3f, 2, 3)) {
            Tensor view = t.reshape(6);
            view.close();
            assertFalse(view.isClosed(), "a view has nothing of its own to free");
            assertFalse(t.isClosed());
            assertEquals(3f, t.get(1, 2));
        }
    }

    @Test
    void wrapIsAViewOfMemorySomebodyElseOwns() {
        Arena arena = Arena.ofConfined();
        MemorySegment seg = arena.allocate(6 * Float.BYTES);
        Tensor t = Tensor.wrap(seg, 2, 3);
        t.set(5f, 1, 1);
        assertEquals(5f, seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 4));
        t.close();
        assertFalse(t.isClosed(), "closing a wrapping tensor does not free what it does not own");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(seg, 7));
        assertTrue(e.getMessage().contains("24 bytes") && e.getMessage().contains("[7]"), e.getMessage());
        arena.close();
        assertTrue(t.isClosed(), "its life is the segment's");
        assertThrows(IllegalStateException.class, t::toArray);
    }

    @Test
    void badShapesAreRejectedBeforeAnythingIsAllocated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -3));
        assertTrue(e.getMessage().contains("[2, -3]"), e.getMessage());
        int big = 1 << 30;
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(big, big, big, big));
        assertTrue(e.getMessage().contains("[1073741824, 1073741824"), "names the shape: " + e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("5 values") && e.getMessage().contains("[2, 3]"), e.getMessage());
        try (Tensor t = Tensor.zeros(2, 3)) {
            e = assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[7]));
            assertTrue(e.getMessage().contains("7 values"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.requireShape("weights", 3, 2));
            assertTrue(e.getMessage().contains("weights") && e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"),
                    e.getMessage());
        }
    }

    @Test
    void copyIsIndependentOfItsSource() {
        try (Tensor a = Tensor.of(new float[] {1, 2, 3}, 3); Tensor b = a.copy()) {
            a.fill(0f);
            assertArrayEquals(new float[] {1, 2, 3}, b.toArray());
            a.close();
            assertFalse(b.isClosed());
        }
    }
}
