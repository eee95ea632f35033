package dev.panamann.ops;

import dev.panamann.testutil.NumGrad;

import dev.panamann.ops.dnnl.DnnlConvReluPoolOp;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.layers.ConvReluPool;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The fused conv - relu - max pool plan against the composed one, and its layer's gradients. */
class ConvReluPoolOpTest {

    /** n, c, h, w, f, k, stride, pad, pool kernel, pool stride. */
    static final int[][] CASES = {
        {2, 3, 8, 8, 8, 3, 1, 1, 2, 2},     // the conv net's shape, small: one block of 8 filters
        {3, 3, 10, 6, 16, 5, 1, 2, 2, 2},   // 16 filters (a block on AVX-512), non-square
        {1, 2, 9, 9, 5, 3, 2, 0, 2, 1},     // odd filter count, stride 2, overlapping pool
        {2, 1, 7, 7, 32, 7, 1, 3, 3, 2},    // 7x7 kernel with pad 3, the CIFAR net's conv
        {2, 16, 8, 8, 16, 3, 1, 1, 2, 2},   // blocked input: backward weights reads the forward's reordered x
    };

    static Stream<int[]> cases() { return Stream.of(CASES); }

    @ParameterizedTest
    @MethodSource("cases")
    void nativeFusedPlanAgreesWithComposedJava(int[] a) {
        ConvGeometry g = new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
        Ops nat = Backs.nativeOps(), java = Backs.java();
        try (ConvReluPoolOp n = nat.convReluPool(g, a[8], a[9]); ConvReluPoolOp j = java.convReluPool(g, a[8], a[9])) {
            assertTrue(n instanceof DnnlConvReluPoolOp, n.getClass().getName());
            Rng rng = new Rng(a[0] * 7L + a[4]);
            int[] pShape = n.pool().outputShape();
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.3f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 0.3f, g.f()); Tensor dout = Tensor.randn(rng, 1f, pShape);
                 Tensor on = Tensor.zeros(pShape); Tensor oj = Tensor.zeros(pShape);
                 Tensor dxn = Tensor.zeros(g.inputShape()); Tensor dxj = Tensor.zeros(g.inputShape());
                 Tensor dwn = Tensor.zeros(g.weightShape()); Tensor dwj = Tensor.zeros(g.weightShape());
                 Tensor dbn = Tensor.zeros(g.f()); Tensor dbj = Tensor.zeros(g.f())) {
                for (int round = 0; round < 3; round++) { // the later rounds reuse the plan
                    if (round == 2) { // a negative bias: many windows are all <= 0, the ReLU mask matters
                        float[] shifted = b.toArray();
                        for (int i = 0; i < shifted.length; i++) shifted[i] -= 0.8f;
                        b.copyFrom(shifted);
                    }
                    n.forward(x, w, b, on, true);
                    j.forward(x, w, b, oj, true);
                    n.backward(x, w, dout, dxn, dwn, dbn);
                    j.backward(x, w, dout, dxj, dwj, dbj);
                    NumGrad.assertAgree("out", oj.toArray(), on.toArray(), 1e-5);
                    NumGrad.assertAgree("dx", dxj.toArray(), dxn.toArray(), 1e-5);
                    NumGrad.assertAgree("dw", dwj.toArray(), dwn.toArray(), 1e-5);
                    NumGrad.assertAgree("db", dbj.toArray(), dbn.toArray(), 1e-5);
                    if (round == 2) {
                        long zeros = 0;
                        for (float v : on.toArray()) if (v == 0f) zeros++;
                        assertTrue(zeros > 0, "the shifted bias must zero some pooled outputs");
                    }
                }
                n.forward(x, w, b, on, false); // inference primitive: same output
                NumGrad.assertAgree("eval out", oj.toArray(), on.toArray(), 1e-5);
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("dev.panamann.testutil.Backs#all")
    void layerPassesTheGradientCheck(Ops ops) {
        Rng rng = new Rng(3);
        try (ConvReluPool layer = new ConvReluPool(ops, 2, 3, 3, 1, 1, 2, 2, rng, 0.5f, "W", "b");
             Tensor x = Tensor.randn(rng, 1f, 2, 2, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 3, 2, 2)) {
            GradAssert.allOk(ops.name() + " ConvReluPool", GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @Test
    void backwardBeforeATrainingForwardFails() {
        ConvGeometry g = new ConvGeometry(1, 1, 4, 4, 8, 3, 3, 1, 1);
        for (Ops ops : Backs.all()) {
            try (ConvReluPoolOp op = ops.convReluPool(g, 2, 2); Tensor x = Tensor.zeros(g.inputShape());
                 Tensor w = Tensor.zeros(g.weightShape()); Tensor d = Tensor.zeros(op.pool().outputShape());
                 Tensor dw = Tensor.zeros(g.weightShape()); Tensor db = Tensor.zeros(8)) {
                assertThrows(IllegalStateException.class, () -> op.backward(x, w, d, null, dw, db), ops.name());
            }
        }
    }

    @Test
    void channelMismatchIsRejectedBeforeAnyNativeCall() {
        try (ConvReluPool layer = new ConvReluPool(Backs.nativeOps(), 3, 8, 3, 1, 1, 2, 2, new Rng(1), 0.1f, "W", "b");
             Tensor x = Tensor.zeros(2, 1, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> layer.forward(x, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
        }
    }
}
