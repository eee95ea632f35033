package dev.panamann.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link Param#shareValueOf}: one memory for two params, aliases follow, closing leaves it to the source. */
class ParamShareTest {

    @Test
    void aSharedValueIsTheSourcesMemoryAndOutlivesTheSharer() {
        try (Param source = new Param("w", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), true)) {
            Param sharer = new Param("w", Tensor.zeros(2, 2), true);
            Param alias = sharer.withName("W1");
            Tensor own = sharer.value();
            sharer.shareValueOf(source);
            assertTrue(own.isClosed(), "the value it owned is freed");
            source.value().setFlat(3, 9f);
            assertEquals(9f, sharer.value().getFlat(3));
            assertEquals(9f, alias.value().getFlat(3), "an alias reads the shared value too");
            sharer.grad().setFlat(0, 5f);
            assertEquals(0f, source.grad().getFlat(0), "the gradient stays the sharer's own");
            assertNotSame(source.grad(), sharer.grad());
            sharer.close();
            assertFalse(source.value().isClosed(), "closing the sharer leaves the value to its source");
            assertEquals(9f, source.value().getFlat(3));
        }
    }

    @Test
    void shapesMustMatch() {
        try (Param a = new Param("a", Tensor.zeros(2, 3), true); Param b = new Param("b", Tensor.zeros(3, 2), true)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.shareValueOf(a));
            assertTrue(e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
            assertFalse(b.value().isClosed());
        }
    }

    @Test
    void aValueSharedFromAClosedSourceFailsLoudly() {
        Param source = new Param("w", Tensor.zeros(2), true);
        try (Param sharer = new Param("w", Tensor.zeros(2), true)) {
            sharer.shareValueOf(source);
            source.close();
            assertThrows(IllegalStateException.class, () -> sharer.value().getFlat(0) );
        }
    }
}
