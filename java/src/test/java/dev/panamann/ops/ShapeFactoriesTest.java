package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import org.junit.jupiter.api.Test;

/** The shape-taking factories of the shape records and of {@link Ops#batchNorm(int[], float)}. */
class ShapeFactoriesTest {

    @Test
    void convGeometryFromShapesEqualsThePositionalRecord() {
        ConvGeometry g = ConvGeometry.of(new int[] {8, 3, 32, 30}, new int[] {16, 3, 7, 5}, 2, 3);
        assertEquals(new ConvGeometry(8, 3, 32, 30, 16, 7, 5, 2, 3), g);
        assertEquals((32 + 6 - 7) / 2 + 1, g.outH());
        assertEquals((30 + 6 - 5) / 2 + 1, g.outW());
        try (Tensor x = Tensor.zeros(2, 1, 5, 6); Tensor w = Tensor.zeros(4, 1, 3, 2)) {
            assertEquals(new ConvGeometry(2, 1, 5, 6, 4, 3, 2, 1, 0), ConvGeometry.of(x, w, 1, 0));
        }
    }

    @Test
    void convGeometryFromShapesNamesBothShapesWhenTheyDoNotFit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConvGeometry.of(new int[] {8, 3, 32, 32}, new int[] {16, 1, 7, 7}, 1, 3));
        assertTrue(e.getMessage().contains("[8, 3, 32, 32]") && e.getMessage().contains("[16, 1, 7, 7]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(new int[] {3, 32, 32}, new int[] {16, 3, 7, 7}, 1, 3));
        assertTrue(e.getMessage().contains("[3, 32, 32]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvGeometry.of(new int[] {1, 3, 4, 4}, new int[] {2, 3, 7, 7}, 1, 0));
        assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
    }

    @Test
    void poolGeometryFromShapes() {
        assertEquals(new PoolGeometry(8, 16, 32, 30, 2, 2), PoolGeometry.of(new int[] {8, 16, 32, 30}, 2, 2));
        ConvGeometry conv = ConvGeometry.of(new int[] {8, 3, 32, 32}, new int[] {16, 3, 7, 7}, 1, 3);
        assertEquals(new PoolGeometry(8, 16, 32, 32, 2, 2), PoolGeometry.over(conv, 2, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PoolGeometry.of(new int[] {8, 16, 32}, 2, 2));
        assertTrue(e.getMessage().contains("[8, 16, 32]"), e.getMessage());
    }

    @Test
    void batchNormFromAnInputShape() {
        for (Ops ops : Backs.all()) {
            try (BatchNormOp flat = ops.batchNorm(new int[] {6, 4}, 1e-5f);
                 BatchNormOp spatial = ops.batchNorm(new int[] {2, 3, 4, 5}, 1e-3f);
                 BatchNormOp deep = ops.batchNorm(new int[] {2, 3, 2, 2, 2}, 1e-5f)) {
                assertEquals(6, flat.n());
                assertEquals(4, flat.c());
                assertEquals(1, flat.spatial());
                assertEquals(2, spatial.n());
                assertEquals(3, spatial.c());
                assertEquals(20, spatial.spatial(), "H*W computed for the caller");
                assertEquals(1e-3f, spatial.eps());
                assertEquals(8, deep.spatial());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.batchNorm(new int[] {6}, 1e-5f));
            assertTrue(e.getMessage().contains("[6]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> ops.batchNorm(new int[] {2, 3, 65536, 65536}, 1e-5f));
            assertTrue(e.getMessage().contains("spatial positions"), e.getMessage());
        }
    }
}
