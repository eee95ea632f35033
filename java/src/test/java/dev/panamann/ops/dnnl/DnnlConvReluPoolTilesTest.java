package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.layers.ConvReluPool;
import dev.panamann.layers.Mode;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.GradAssert;
import dev.panamann.testutil.NumGrad;
import dev.panamann.train.GradientCheck;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The conv-relu-pool plan's training in tiles of images against the composed Java op. */
class DnnlConvReluPoolTilesTest {

    /**
     * n, c, h, w, f, k, stride, pad, pool kernel, pool stride, images per tile, the tile size the
     * plan takes, and 1 where oneDNN 2.6 has only reference kernels for a tile's primitives unless
     * it runs AVX-512 ones (1 or 2 input channels; seen with {@code ONEDNN_MAX_CPU_ISA=AVX2}): the
     * plan then declines the tiles and trains over the whole batch, which must agree all the same.
     */
    static final int[][] CASES = {
        {5, 3, 8, 8, 8, 3, 1, 1, 2, 2, 2, 2, 0},       // 2 + 2 + 1: the last tile smaller
        {4, 3, 8, 8, 16, 3, 1, 1, 2, 2, 2, 2, 0},      // two full tiles
        {3, 3, 10, 6, 16, 5, 1, 2, 2, 2, 8, 3, 0},     // batch smaller than one tile: one tile of the batch
        {7, 16, 8, 8, 16, 3, 1, 1, 2, 2, 3, 3, 0},     // blocked input (the forward's reordered x is sliced), 3 + 3 + 1
        {5, 1, 7, 7, 32, 7, 1, 3, 3, 2, 2, 2, 1},      // the CIFAR net's 7x7 conv, overlapping 3/2 pool
        {4, 2, 9, 9, 5, 3, 2, 0, 2, 1, 3, 3, 1},       // odd filter count, stride 2, 3 + 1
        {3, 1, 6, 6, 1, 3, 1, 1, 2, 2, 2, 2, 1},       // one filter: 9 weights, fewer floats than a 64-byte buffer
    };

    static Stream<int[]> cases() { return Stream.of(CASES); }

    @ParameterizedTest
    @MethodSource("cases")
    void tiledTrainingAgreesWithComposedJava(int[] a) {
        ConvGeometry g = new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
        NativeOps nat = (NativeOps) Backs.nativeOps();
        Ops java = Backs.java();
        int threads = nat.threads();
        nat.setThreads(1); // tiles run with one thread whatever the OpenMP wait policy
        try (DnnlConvReluPoolOp n = new DnnlConvReluPoolOp(nat, g, a[8], a[9], a[10]);
             ConvReluPoolOp j = java.convReluPool(g, a[8], a[9])) {
            if (a[12] == 1 && !nat.describe().contains(" ISA avx512")) {
                assertEquals(0, n.imagesPerTile(), "images per tile where only reference kernels would run them");
                assertFalse(n.tiled(), "training over the whole batch");
            } else {
                assertEquals(a[11], n.imagesPerTile(), "images per tile");
                assertTrue(n.tiled(), "training runs in tiles");
            }
            Rng rng = new Rng(a[0] * 11L + a[4]);
            int[] pShape = n.pool().outputShape();
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.3f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 0.3f, g.f()); Tensor dout = Tensor.randn(rng, 1f, pShape);
                 Tensor on = Tensor.zeros(pShape); Tensor oj = Tensor.zeros(pShape);
                 Tensor dxn = Tensor.zeros(g.inputShape()); Tensor dxj = Tensor.zeros(g.inputShape());
                 Tensor dwn = Tensor.zeros(g.weightShape()); Tensor dwj = Tensor.zeros(g.weightShape());
                 Tensor dbn = Tensor.zeros(g.f()); Tensor dbj = Tensor.zeros(g.f())) {
                for (int round = 0; round < 3; round++) { // later rounds reuse the plan; round 1 without dx
                    if (round == 2) { // a negative bias: many windows are all <= 0, the ReLU mask matters
                        float[] shifted = b.toArray();
                        for (int i = 0; i < shifted.length; i++) shifted[i] -= 0.8f;
                        b.copyFrom(shifted);
                    }
                    dwn.copyFrom(filled(dwn.sizeInt(), 7f)); // backward overwrites dW and db, tiles or not
                    dbn.copyFrom(filled(dbn.sizeInt(), -3f));
                    n.forward(x, w, b, on, true);
                    j.forward(x, w, b, oj, true);
                    n.backward(x, w, dout, round == 1 ? null : dxn, dwn, dbn);
                    j.backward(x, w, dout, dxj, dwj, dbj);
                    NumGrad.assertAgree("out", oj.toArray(), on.toArray(), 1e-5);
                    if (round != 1) NumGrad.assertAgree("dx", dxj.toArray(), dxn.toArray(), 1e-5);
                    NumGrad.assertAgree("dw", dwj.toArray(), dwn.toArray(), 1e-5);
                    NumGrad.assertAgree("db", dbj.toArray(), dbn.toArray(), 1e-5);
                }
                n.forward(x, w, b, on, false); // inference runs untiled: same output
                NumGrad.assertAgree("eval out", oj.toArray(), on.toArray(), 1e-5);
            }
        } finally {
            nat.setThreads(threads);
        }
    }

    private static float[] filled(int size, float v) {
        float[] a = new float[size];
        java.util.Arrays.fill(a, v);
        return a;
    }

    @Test
    void tiledLayerPassesTheGradientCheck() {
        NativeOps nat = (NativeOps) Backs.nativeOps();
        int threads = nat.threads();
        String before = System.getProperty("panamann.dnnl.convPoolTile");
        nat.setThreads(1);
        System.setProperty("panamann.dnnl.convPoolTile", "2"); // 5 images: tiles of 2, 2 and 1
        Rng rng = new Rng(5);
        try (ConvReluPool layer = new ConvReluPool(nat, 2, 3, 3, 1, 1, 2, 2, rng, 0.5f, "W", "b");
             Tensor x = Tensor.randn(rng, 1f, 5, 2, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 5, 3, 2, 2)) {
            GradAssert.allOk("tiled ConvReluPool", GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP));
        } finally {
            if (before == null) System.clearProperty("panamann.dnnl.convPoolTile");
            else System.setProperty("panamann.dnnl.convPoolTile", before);
            nat.setThreads(threads);
        }
    }

    @Test
    void tileSizeFollowsTheConvOutput() {
        // the CIFAR net: 32 x 32 x 32 floats (128 KB) per image, 8 images per 1 MB tile
        assertEquals(8, ConvPoolTiles.imagesPerTile(new ConvGeometry(64, 3, 32, 32, 32, 7, 7, 1, 3)));
        assertEquals(8, ConvPoolTiles.imagesPerTile(new ConvGeometry(50, 3, 32, 32, 32, 7, 7, 1, 3)));
        // a batch within one tile is not tiled
        assertEquals(0, ConvPoolTiles.imagesPerTile(new ConvGeometry(8, 3, 32, 32, 32, 7, 7, 1, 3)));
        // an image larger than a tile: one image per tile
        assertEquals(1, ConvPoolTiles.imagesPerTile(new ConvGeometry(4, 3, 128, 128, 32, 3, 3, 1, 1)));
    }

    @Test
    void thePropertySetsTheTile() {
        ConvGeometry cifar = new ConvGeometry(64, 3, 32, 32, 32, 7, 7, 1, 3);
        String before = System.getProperty("panamann.dnnl.convPoolTile");
        try {
            System.setProperty("panamann.dnnl.convPoolTile", "0");
            assertEquals(0, ConvPoolTiles.imagesPerTile(cifar));
            System.setProperty("panamann.dnnl.convPoolTile", "16");
            assertEquals(16, ConvPoolTiles.imagesPerTile(cifar));
            System.setProperty("panamann.dnnl.convPoolTile", "64");
            assertEquals(0, ConvPoolTiles.imagesPerTile(cifar));
            System.setProperty("panamann.dnnl.convPoolTile", "-2");
            assertThrows(IllegalArgumentException.class, () -> ConvPoolTiles.imagesPerTile(cifar));
            System.setProperty("panamann.dnnl.convPoolTile", "eight");
            assertThrows(IllegalArgumentException.class, () -> ConvPoolTiles.imagesPerTile(cifar));
        } finally {
            if (before == null) System.clearProperty("panamann.dnnl.convPoolTile");
            else System.setProperty("panamann.dnnl.convPoolTile", before);
        }
    }

    /** The default plan tiles the CIFAR conv where the tiles run: one thread, or spinning OpenMP threads. */
    @Test
    void theDefaultPlanTilesTheCifarConvWhereTilesRun() {
        ConvGeometry g = new ConvGeometry(16, 3, 32, 32, 32, 7, 7, 1, 3);
        NativeOps nat = (NativeOps) Backs.nativeOps();
        int threads = nat.threads();
        boolean used = threads == 1 || !NativeLibraries.ompThreadsSleep();
        try (ConvReluPoolOp op = nat.convReluPool(g, 2, 2)) {
            assertEquals(used ? 8 : 0, ((DnnlConvReluPoolOp) op).imagesPerTile());
            assertEquals(used, ((DnnlConvReluPoolOp) op).tiled());
        }
        nat.setThreads(1);
        try (ConvReluPoolOp op = nat.convReluPool(g, 2, 2)) {
            assertEquals(8, ((DnnlConvReluPoolOp) op).imagesPerTile());
            assertTrue(((DnnlConvReluPoolOp) op).tiled());
        } finally {
            nat.setThreads(threads);
        }
    }

    @Test
    void negativeTileIsRejected() {
        ConvGeometry g = new ConvGeometry(2, 1, 4, 4, 8, 3, 3, 1, 1);
        NativeOps nat = (NativeOps) Backs.nativeOps();
        assertThrows(IllegalArgumentException.class, () -> new DnnlConvReluPoolOp(nat, g, 2, 2, -1));
    }
}
