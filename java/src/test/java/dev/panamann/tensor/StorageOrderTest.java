package dev.panamann.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A param's value, gradients and optimizer state held in another order between steps
 * ({@link Param#preferOrder}, {@link Param#adoptPreferredOrder}): the step code sees the memory
 * as held, every read or write through {@link Tensor} sees row-major values.
 */
class StorageOrderTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** The values backwards: position i holds row-major index n - 1 - i. */
    private static StorageOrder reversed(int... shape) {
        int n = (int) Tensor.elementCount(shape);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
        return new StorageOrder("reversed", shape, idx);
    }

    private static float[] held(Tensor t) {
        return t.storage().toArray(F);
    }

    @Test
    void anOrderMustBeAPermutationOfTheShapesValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StorageOrder("x", new int[] {2, 2}, new int[] {0, 1, 1, 3}));
        assertTrue(e.getMessage().contains("position 2 holds row-major index 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new StorageOrder("x", new int[] {2, 2}, new int[] {0, 1, 2}));
        assertTrue(e.getMessage().contains("3 positions for 4 values"), e.getMessage());
        assertEquals(reversed(2, 2), reversed(2, 2));
        assertTrue(!reversed(2, 2).equals(reversed(4)), "another shape is another order");
    }

    @Test
    void valueGradientAndStateMoveTogetherAndReadRowMajor() {
        try (Param p = new Param("W", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), true);
             Tensor state = Tensor.of(new float[] {10, 20, 30, 40, 50, 60}, 2, 3)) {
            p.grad().copyFrom(new float[] {-1, -2, -3, -4, -5, -6});
            p.attachState(state);
            StorageOrder o = reversed(2, 3);
            assertSame(o, p.preferOrder(o));
            assertSame(o, p.preferOrder(reversed(2, 3)), "an equal order keeps the instance first given");
            assertNull(p.storageOrder(), "nothing moves before the optimizer adopts it");
            p.adoptPreferredOrder();
            assertSame(o, p.storageOrder());
            assertSame(o, p.value().storageOrder());
            assertSame(o, p.grad().storageOrder());
            assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, held(p.value()));
            assertArrayEquals(new float[] {-6, -5, -4, -3, -2, -1}, held(p.grad()));
            assertArrayEquals(new float[] {60, 50, 40, 30, 20, 10}, held(state));
            assertEquals(1, p.orderChanges());
            p.adoptPreferredOrder();
            assertEquals(1, p.orderChanges(), "adopting the order held already changes nothing");

            // a read of any of them puts all three back
            assertEquals(20f, state.get(0, 1));
            assertNull(p.storageOrder());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, held(p.value()));
            assertArrayEquals(new float[] {-1, -2, -3, -4, -5, -6}, held(p.grad()));
            assertEquals(2, p.orderChanges());

            // a write in row-major order while held in the other one lands where it should
            p.adoptPreferredOrder();
            p.value().copyFrom(new float[] {7, 8, 9, 10, 11, 12});
            assertArrayEquals(new float[] {7, 8, 9, 10, 11, 12}, held(p.value()));
            p.adoptPreferredOrder();
            assertArrayEquals(new float[] {12, 11, 10, 9, 8, 7}, held(p.value()));
            Tensor view = p.value().reshape(6); // a view made later is covered too
            assertEquals(8f, view.getFlat(1));
            assertNull(p.storageOrder());
        }
    }

    @Test
    void theStepCodeSeesTheHeldMemoryAndZeroGradKeepsTheOrder() {
        try (Param p = new Param("W", Tensor.of(new float[] {1, 2, 3, 4}, 4), true)) {
            p.preferOrder(reversed(4));
            p.adoptPreferredOrder();
            MemorySegment m = p.value().storage();
            assertEquals(4f, m.getAtIndex(F, 0), "storage() is the memory as held");
            assertSame(reversed(4).getClass(), p.storageOrder().getClass());
            assertEquals(1, p.orderChanges(), "storage() does not reorder");
            p.zeroGrad();
            assertEquals(1, p.orderChanges(), "zeros are zeros in every order");
            assertArrayEquals(new float[] {0, 0, 0, 0}, p.grad().toArray());
        }
    }

    @Test
    void readingAPackedGradientBufferPutsEveryGradientInRowMajorOrder() {
        try (Param a = new Param("a", Tensor.zeros(3), true); Param b = new Param("b", Tensor.zeros(2), false)) {
            a.grad().copyFrom(new float[] {1, 2, 3});
            b.grad().copyFrom(new float[] {4, 5});
            try (Tensor buffer = Gradients.pack(List.of(a, b))) {
                a.preferOrder(reversed(3));
                a.adoptPreferredOrder();
                assertArrayEquals(new float[] {3, 2, 1, 4, 5}, held(buffer), "storage() holds each gradient in its param's order");
                assertSame(a.storageOrder(), a.grad().storageOrder(), "the packed view follows its param");
                assertArrayEquals(new float[] {1, 2, 3, 4, 5}, buffer.toArray());
                assertNull(a.storageOrder());
            }
        }
    }

    @Test
    void aSharersGradientFollowsTheSourcesOrder() {
        try (Param source = new Param("w", Tensor.of(new float[] {1, 2, 3}, 3), true);
             Param sharer = new Param("w", Tensor.zeros(3), true)) {
            sharer.shareValueOf(source);
            sharer.grad().copyFrom(new float[] {7, 8, 9});
            sharer.preferOrder(reversed(3)); // a replica's layer prefers on the shared value
            source.adoptPreferredOrder();
            assertArrayEquals(new float[] {3, 2, 1}, held(sharer.value()));
            assertArrayEquals(new float[] {9, 8, 7}, held(sharer.grad()), "the sharer's gradient moved with the value");
            assertArrayEquals(new float[] {7, 8, 9}, sharer.grad().toArray());
            assertNull(source.storageOrder());
        }
    }

    @Test
    void ordersCanBeTurnedOffAndAViewValueNeverMoves() {
        try (Param p = new Param("W", Tensor.of(new float[] {1, 2, 3}, 3), true); Tensor big = Tensor.zeros(6)) {
            p.preferOrder(reversed(3));
            p.adoptPreferredOrder();
            p.allowOtherOrders(false);
            assertNull(p.storageOrder());
            assertArrayEquals(new float[] {1, 2, 3}, held(p.value()));
            assertNull(p.preferOrder(reversed(3)));
            p.adoptPreferredOrder();
            assertNull(p.storageOrder());

            Param onView = new Param("v", big.slice(0, 3), true);
            assertNull(onView.preferOrder(reversed(3)), "a value that is a view stays row-major");
            assertNull(p.withName("W1").preferOrder(reversed(3)), "aliases share the setting");
            onView.close();
        }
    }

    @Test
    void aValueTwoParamsUpdateStaysRowMajor() {
        try (Tensor w = Tensor.of(new float[] {1, 2, 3}, 3)) {
            Param first = new Param("a", w, true);
            first.preferOrder(reversed(3));
            first.adoptPreferredOrder();
            Param second = new Param("b", w, true); // the same tensor given twice (tied weights)
            assertNull(first.storageOrder(), "the first param's order is undone");
            assertArrayEquals(new float[] {1, 2, 3}, held(w));
            assertNull(first.preferOrder(reversed(3)));
            assertNull(second.preferOrder(reversed(3)));
            Param third = new Param("c", first.value().reshape(3), true); // a view of a param's value
            assertNull(third.preferOrder(reversed(3)));
            first.adoptPreferredOrder();
            assertNull(first.storageOrder());
            second.grad().close();
            third.grad().close();
            first.grad().close();
        }
    }

    @Test
    void stateMustBeATensorOfItsOwnWhenTheValueIsHeldInAnotherOrder() {
        try (Param p = new Param("W", Tensor.zeros(4), true); Tensor big = Tensor.zeros(8)) {
            p.preferOrder(reversed(4));
            p.adoptPreferredOrder();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.attachState(big.slice(0, 4)));
            assertTrue(e.getMessage().contains("tensor of its own"), e.getMessage());
        }
    }
}
