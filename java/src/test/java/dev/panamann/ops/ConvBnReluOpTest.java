package dev.panamann.ops;

import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.Conv2d;
import dev.panamann.layers.ConvBnRelu;
import dev.panamann.layers.Mode;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.dnnl.DnnlConvBnReluOp;
import dev.panamann.ops.java.ComposedConvBnReluOp;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conv - batch norm - ReLU plan with oneDNN's fused norm-relu in the blocked layout against
 * the composed one, and its layer's gradients on both backends.
 */
class ConvBnReluOpTest {

    /** n, c, h, w, f, k, stride, pad. */
    static final int[][] CASES = {
        {2, 3, 8, 8, 16, 3, 1, 1},     // 3 input channels (a prep unit), one block of 16 filters
        {3, 16, 10, 6, 32, 3, 1, 1},   // blocked on both sides on AVX-512, non-square
        {2, 5, 9, 9, 3, 3, 2, 0},      // filter count that fills no block, stride 2
        {4, 32, 4, 4, 32, 3, 1, 1},    // a layer3 residual unit's shape at 4x4
        {25, 3, 32, 32, 8, 3, 1, 1},   // the prep unit of a width-8 ResNet9 at batch 25: half a channel block
    };

    static Stream<int[]> cases() { return Stream.of(CASES); }

    @ParameterizedTest
    @MethodSource("cases")
    void nativeFusedPlanAgreesWithComposedJava(int[] a) {
        ConvGeometry g = new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
        Ops nat = Backs.nativeOps(), java = Backs.java();
        int f = g.f();
        try (ConvBnReluOp n = nat.convBnRelu(g, 1e-5f); ConvBnReluOp j = java.convBnRelu(g, 1e-5f)) {
            assertTrue(n instanceof DnnlConvBnReluOp, n.getClass().getName());
            assertTrue(j instanceof ComposedConvBnReluOp, j.getClass().getName());
            Rng rng = new Rng(a[0] * 7L + a[4]);
            int[] yShape = g.outputShape();
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.3f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 0.3f, f); Tensor gamma = Tensor.randn(rng, 1f, f);
                 Tensor beta = Tensor.randn(rng, 0.5f, f); Tensor dout = Tensor.randn(rng, 1f, yShape);
                 Tensor rmn = Tensor.randn(rng, 0.1f, f); Tensor rvn = Tensor.full(1.5f, f);
                 Tensor rmj = rmn.copy(); Tensor rvj = rvn.copy();
                 Tensor on = Tensor.zeros(yShape); Tensor oj = Tensor.zeros(yShape);
                 Tensor dxn = Tensor.zeros(g.inputShape()); Tensor dxj = Tensor.zeros(g.inputShape());
                 Tensor dwn = Tensor.zeros(g.weightShape()); Tensor dwj = Tensor.zeros(g.weightShape());
                 Tensor dbn = Tensor.zeros(f); Tensor dbj = Tensor.zeros(f);
                 Tensor dgn = Tensor.zeros(f); Tensor dgj = Tensor.zeros(f);
                 Tensor dben = Tensor.zeros(f); Tensor dbej = Tensor.zeros(f)) {
                for (int round = 0; round < 3; round++) { // the later rounds reuse the plan
                    if (round == 2) { // a negative beta: more outputs are cut to 0, the mask matters
                        float[] shifted = beta.toArray();
                        for (int i = 0; i < shifted.length; i++) shifted[i] -= 0.8f;
                        beta.copyFrom(shifted);
                    }
                    n.forward(x, w, b, gamma, beta, on, rmn, rvn, 0.9f, true);
                    j.forward(x, w, b, gamma, beta, oj, rmj, rvj, 0.9f, true);
                    NumGrad.assertAgree("train out", oj.toArray(), on.toArray(), 1e-5);
                    NumGrad.assertAgree("running mean", rmj.toArray(), rmn.toArray(), 1e-5);
                    NumGrad.assertAgree("running var", rvj.toArray(), rvn.toArray(), 1e-5);
                    assertCutsSomeOutputs(on);
                    on.fill(7f); // the plan keeps its own copy of what backward reads
                    n.backward(x, w, gamma, dout, dxn, dwn, dbn, dgn, dben);
                    j.backward(x, w, gamma, dout, dxj, dwj, dbj, dgj, dbej);
                    NumGrad.assertAgree("dx", dxj.toArray(), dxn.toArray(), 1e-4);
                    NumGrad.assertAgree("dw", dwj.toArray(), dwn.toArray(), 1e-4);
                    // the batch norm removes the conv bias: db is 0 but for the rounding of a sum over N*OH*OW values
                    assertZeroUpToRounding("native db", dbn.toArray());
                    assertZeroUpToRounding("java db", dbj.toArray());
                    NumGrad.assertAgree("dgamma", dgj.toArray(), dgn.toArray(), 1e-4);
                    NumGrad.assertAgree("dbeta", dbej.toArray(), dben.toArray(), 1e-4);
                    // inference: the running statistics, which stay as they are
                    float[] rm = rmn.toArray(), rv = rvn.toArray();
                    n.forward(x, w, b, gamma, beta, on, rmn, rvn, 0.9f, false);
                    j.forward(x, w, b, gamma, beta, oj, rmj, rvj, 0.9f, false);
                    NumGrad.assertAgree("eval out", oj.toArray(), on.toArray(), 1e-5);
                    assertCutsSomeOutputs(on);
                    assertArrayEquals(rm, rmn.toArray(), "eval leaves the running mean");
                    assertArrayEquals(rv, rvn.toArray(), "eval leaves the running variance");
                }
            }
        }
    }

    private static void assertZeroUpToRounding(String what, float[] v) {
        for (float d : v) assertTrue(Math.abs(d) < 1e-3, what + " should be 0 up to rounding: " + java.util.Arrays.toString(v));
    }

    private static void assertCutsSomeOutputs(Tensor out) {
        long zeros = 0;
        for (float v : out.toArray()) if (v == 0f) zeros++;
        assertTrue(zeros > 0 && zeros < out.size(), "the ReLU must cut some outputs and keep others: " + zeros);
    }

    /** A unit of 16 filters (one AVX-512 channel block) on each backend, gradient-checked as a layer. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void blockedUnitPassesTheGradientCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(21);
        try (ConvBnRelu unit = new ConvBnRelu(ops, 2, 16, 3, 1, rng, "u"); Tensor x = Tensor.randn(rng, 1f, 2, 2, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 16, 4, 4)) {
            GradAssert.allOk(backend + " conv-bn-relu, 16 filters",
                    GradientCheck.checkLayer(unit, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    /** The unit equals Conv2d, then BatchNorm, then ReLU, as separate layers of the same backend. */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("dev.panamann.testutil.Backs#all")
    void layerEqualsConvThenBatchNormThenReLU(Ops ops) {
        Rng rng = new Rng(5);
        try (ConvBnRelu unit = new ConvBnRelu(ops, 3, 8, 3, 1, rng, "u"); Tensor x = Tensor.randn(rng, 1f, 4, 3, 6, 6);
             Tensor dout = Tensor.randn(rng, 1f, 4, 8, 6, 6);
             Conv2d conv = new Conv2d(ops, unit.conv().weight().value().copy(), unit.conv().bias().value().copy(), 1, 1);
             BatchNorm bn = BatchNorm.named(ops, 8, 1e-5f, 0.9f, "bn"); ReLU relu = new ReLU();
             Tensor gamma = Tensor.randn(rng, 1f, 8); Tensor beta = Tensor.randn(rng, 0.5f, 8)) {
            unit.batchNorm().gamma().value().copyFrom(gamma);
            unit.batchNorm().beta().value().copyFrom(beta);
            bn.gamma().value().copyFrom(unit.batchNorm().gamma().value());
            bn.beta().value().copyFrom(unit.batchNorm().beta().value());
            for (int step = 0; step < 2; step++) {
                float[] parts = relu.forward(bn.forward(conv.forward(x, Mode.TRAIN), Mode.TRAIN), Mode.TRAIN).toArray();
                float[] partsDx = conv.backward(bn.backward(relu.backward(dout))).toArray();
                Tensor out = unit.forward(x, Mode.TRAIN);
                assertTrue(out.hasShape(4, 8, 6, 6), out.shapeString());
                String what = ops.name() + " conv-bn-relu step " + step;
                NumGrad.assertAgree(what, parts, out.toArray(), 1e-5);
                NumGrad.assertAgree(what + " dx", partsDx, unit.backward(dout).toArray(), 1e-4);
                NumGrad.assertAgree(what + " dW", conv.weight().grad().toArray(), unit.conv().weight().grad().toArray(), 1e-4);
                NumGrad.assertAgree(what + " db", conv.bias().grad().toArray(), unit.conv().bias().grad().toArray(), 1e-4);
                NumGrad.assertAgree(what + " dgamma", bn.gamma().grad().toArray(), unit.batchNorm().gamma().grad().toArray(), 1e-4);
                NumGrad.assertAgree(what + " dbeta", bn.beta().grad().toArray(), unit.batchNorm().beta().grad().toArray(), 1e-4);
                NumGrad.assertAgree(what + " running mean", bn.runningMean().toArray(), unit.batchNorm().runningMean().toArray(), 1e-5);
                NumGrad.assertAgree(what + " running var", bn.runningVar().toArray(), unit.batchNorm().runningVar().toArray(), 1e-5);
                NumGrad.assertAgree(what + " eval", relu.forward(bn.forward(conv.forward(x, Mode.EVAL), Mode.EVAL), Mode.EVAL).toArray(),
                        unit.forward(x, Mode.EVAL).toArray(), 1e-5);
                assertThrows(IllegalStateException.class, () -> unit.backward(dout), what + ": backward after an EVAL forward");
            }
            unit.setInputGradient(false);
            unit.forward(x, Mode.TRAIN);
            assertTrue(unit.backward(dout) == null, "no input gradient when switched off");
        }
    }

    /** A closed unit refuses work with a Java exception, on each backend. */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("dev.panamann.testutil.Backs#all")
    void layerUseAfterCloseFails(Ops ops) {
        try (Tensor x = Tensor.randn(new Rng(6), 1f, 2, 3, 5, 5); Tensor dout = Tensor.zeros(2, 4, 5, 5)) {
            ConvBnRelu unit = new ConvBnRelu(ops, 3, 4, 3, 1, new Rng(7), "u");
            unit.forward(x, Mode.TRAIN);
            unit.close();
            assertThrows(IllegalStateException.class, () -> unit.backward(dout), ops.name() + " backward after close");
            assertThrows(IllegalStateException.class, () -> unit.forward(x, Mode.TRAIN), ops.name() + " forward after close");
            unit.close(); // twice is fine
            IllegalArgumentException e;
            try (ConvBnRelu open = new ConvBnRelu(ops, 3, 4, 3, 1, new Rng(7), "u"); Tensor wrong = Tensor.zeros(2, 2, 5, 5)) {
                e = assertThrows(IllegalArgumentException.class, () -> open.forward(wrong, Mode.TRAIN));
            }
            assertTrue(e.getMessage().contains("[2, 2, 5, 5]"), e.getMessage());
        }
    }

    @Test
    void backwardBeforeATrainingForwardFails() {
        ConvGeometry g = new ConvGeometry(2, 1, 4, 4, 8, 3, 3, 1, 1);
        for (Ops ops : Backs.all()) {
            try (ConvBnReluOp op = ops.convBnRelu(g, 1e-5f); Tensor x = Tensor.zeros(g.inputShape());
                 Tensor w = Tensor.zeros(g.weightShape()); Tensor c = Tensor.zeros(8); Tensor c2 = Tensor.zeros(8);
                 Tensor rm = Tensor.zeros(8); Tensor rv = Tensor.full(1f, 8); Tensor y = Tensor.zeros(g.outputShape())) {
                assertThrows(IllegalStateException.class, () -> op.backward(x, w, c, y, null, w, c, c2, rm), ops.name());
                op.forward(x, w, c, c2, c, y, rm, rv, 0.9f, false);
                assertThrows(IllegalStateException.class, () -> op.backward(x, w, c, y, null, w, c, c2, rm), ops.name() + " after eval");
            }
        }
    }

    @Test
    void badInputIsRejectedBeforeAnyNativeCall() {
        for (Ops ops : Backs.all()) {
            ConvGeometry g = new ConvGeometry(2, 3, 8, 8, 8, 3, 3, 1, 1);
            try (ConvBnReluOp op = ops.convBnRelu(g, 1e-5f); Tensor x = Tensor.zeros(2, 1, 8, 8); Tensor xOk = Tensor.zeros(g.inputShape());
                 Tensor w = Tensor.zeros(g.weightShape()); Tensor c = Tensor.zeros(8); Tensor c7 = Tensor.zeros(7);
                 Tensor rv = Tensor.full(1f, 8); Tensor y = Tensor.zeros(g.outputShape())) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> op.forward(x, w, c, c, c, y, c, rv, 0.9f, true));
                assertTrue(e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> op.forward(xOk, w, c, c7, c, y, c, rv, 0.9f, true));
                assertTrue(e.getMessage().contains("gamma") && e.getMessage().contains("[7]"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> op.forward(xOk, w, c, c, c, y, c, c7, 0.9f, false));
                assertTrue(e.getMessage().contains("runningVar"), e.getMessage());
                op.forward(xOk, w, c, c, c, y, c, rv, 0.9f, true);
                e = assertThrows(IllegalArgumentException.class, () -> op.backward(xOk, w, c, y, null, w, c, c7, c));
                assertTrue(e.getMessage().contains("dgamma"), e.getMessage());
            }
            // one value per channel: no batch variance
            ConvGeometry single = new ConvGeometry(1, 2, 3, 3, 4, 3, 3, 1, 0);
            try (ConvBnReluOp op = ops.convBnRelu(single, 1e-5f); Tensor x = Tensor.zeros(single.inputShape());
                 Tensor w = Tensor.zeros(single.weightShape()); Tensor c = Tensor.zeros(4); Tensor rv = Tensor.full(1f, 4);
                 Tensor y = Tensor.zeros(single.outputShape())) {
                assertThrows(IllegalArgumentException.class, () -> op.forward(x, w, c, c, c, y, c, rv, 0.9f, true), ops.name());
                op.forward(x, w, c, c, c, y, c, rv, 0.9f, false); // evaluation is fine
            }
            assertThrows(IllegalArgumentException.class, () -> ops.convBnRelu(g, 0f), ops.name() + " eps 0");
            // use after close, of the op and of a tensor
            ConvBnReluOp op = ops.convBnRelu(g, 1e-5f);
            op.close();
            try (Tensor x = Tensor.zeros(g.inputShape()); Tensor w = Tensor.zeros(g.weightShape()); Tensor c = Tensor.zeros(8);
                 Tensor rv = Tensor.full(1f, 8); Tensor y = Tensor.zeros(g.outputShape())) {
                assertThrows(IllegalStateException.class, () -> op.forward(x, w, c, c, c, y, c, rv, 0.9f, true),
                        ops.name() + " use after close");
                op.close(); // twice is fine
            }
            try (ConvBnReluOp open = ops.convBnRelu(g, 1e-5f); Tensor x = Tensor.zeros(g.inputShape());
                 Tensor w = Tensor.zeros(g.weightShape()); Tensor c = Tensor.zeros(8); Tensor y = Tensor.zeros(g.outputShape())) {
                Tensor rv = Tensor.full(1f, 8);
                rv.close();
                assertThrows(IllegalStateException.class, () -> open.forward(x, w, c, c, c, y, c, rv, 0.9f, false),
                        ops.name() + " closed running variance");
            }
        }
    }
}
