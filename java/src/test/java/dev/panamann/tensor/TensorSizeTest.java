package dev.panamann.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Size arithmetic of shapes is checked: no overflow to a small or empty tensor. */
class TensorSizeTest {

    @Test
    void overflowingShapesAreRejectedBeforeAllocation() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.zeros(1, 16, 1 << 30, 1 << 30));
        assertTrue(e.getMessage().contains("[1, 16, 1073741824, 1073741824]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(65536, 65536, 65536, 65536));
        assertThrows(IllegalArgumentException.class, () -> Tensor.elementCount(Integer.MAX_VALUE, Integer.MAX_VALUE, 4));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, -1));
        assertEquals(0, Tensor.elementCount(0, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));
        assertEquals((long) Integer.MAX_VALUE * 3, Tensor.elementCount(Integer.MAX_VALUE, 3));
    }

    @Test
    void reshapeComparesCheckedSizes() {
        try (Tensor empty = Tensor.zeros(0, 5)) {
            // 65536^4 wraps to 0 in long arithmetic: must not pass for the 0 elements of an empty tensor
            assertThrows(IllegalArgumentException.class, () -> empty.reshape(65536, 65536, 65536, 65536));
            assertEquals(0, empty.reshape(5, 0).size());
        }
        try (Tensor t = Tensor.zeros(4, 6)) {
            assertEquals(6, t.reshape(4, -1).dim(1));
            assertThrows(IllegalArgumentException.class, () -> t.reshape(5, -1));
        }
    }
}
