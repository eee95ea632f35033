package dev.panamann.ops;

import dev.panamann.layers.Conv2d;
import dev.panamann.layers.ConvRelu;
import dev.panamann.layers.Mode;
import dev.panamann.layers.ReLU;
import dev.panamann.ops.dnnl.DnnlConvReluOp;
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

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The conv plan with the ReLU as oneDNN post-op against the composed one, and its layer's gradients. */
class ConvReluOpTest {

    /** n, c, h, w, f, k, stride, pad. */
    static final int[][] CASES = {
        {2, 3, 8, 8, 8, 3, 1, 1},     // one block of 8 filters
        {3, 16, 10, 6, 16, 3, 1, 1},  // 16 in and out channels (blocked on both sides on AVX-512), non-square
        {1, 2, 9, 9, 5, 3, 2, 0},     // odd filter count, stride 2
        {2, 32, 7, 7, 32, 7, 1, 3},   // 7x7 kernel with pad 3 over 32 channels
    };

    static Stream<int[]> cases() { return Stream.of(CASES); }

    @ParameterizedTest
    @MethodSource("cases")
    void nativePostOpPlanAgreesWithComposedJava(int[] a) {
        ConvGeometry g = new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
        Ops nat = Backs.nativeOps(), java = Backs.java();
        try (ConvReluOp n = nat.convRelu(g); ConvReluOp j = java.convRelu(g)) {
            assertTrue(n instanceof DnnlConvReluOp, n.getClass().getName());
            Rng rng = new Rng(a[0] * 7L + a[4]);
            int[] yShape = g.outputShape();
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.3f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 0.3f, g.f()); Tensor dout = Tensor.randn(rng, 1f, yShape);
                 Tensor on = Tensor.zeros(yShape); Tensor oj = Tensor.zeros(yShape);
                 Tensor dxn = Tensor.zeros(g.inputShape()); Tensor dxj = Tensor.zeros(g.inputShape());
                 Tensor dwn = Tensor.zeros(g.weightShape()); Tensor dwj = Tensor.zeros(g.weightShape());
                 Tensor dbn = Tensor.zeros(g.f()); Tensor dbj = Tensor.zeros(g.f())) {
                for (int round = 0; round < 3; round++) { // the later rounds reuse the plan
                    if (round == 2) { // a negative bias: more outputs are cut to 0, the mask matters
                        float[] shifted = b.toArray();
                        for (int i = 0; i < shifted.length; i++) shifted[i] -= 0.8f;
                        b.copyFrom(shifted);
                    }
                    n.forward(x, w, b, on, true);
                    j.forward(x, w, b, oj, true);
                    on.fill(7f); // the plan keeps its own copy of the output for the backward mask
                    n.backward(x, w, dout, dxn, dwn, dbn);
                    j.backward(x, w, dout, dxj, dwj, dbj);
                    n.forward(x, w, b, on, false); // inference forward: same output
                    NumGrad.assertAgree("out", oj.toArray(), on.toArray(), 1e-5);
                    NumGrad.assertAgree("dx", dxj.toArray(), dxn.toArray(), 1e-5);
                    NumGrad.assertAgree("dw", dwj.toArray(), dwn.toArray(), 1e-5);
                    NumGrad.assertAgree("db", dbj.toArray(), dbn.toArray(), 1e-5);
                    long zeros = 0;
                    for (float v : on.toArray()) if (v == 0f) zeros++;
                    assertTrue(zeros > 0 && zeros < on.size(), "the ReLU must cut some outputs and keep others: " + zeros);
                }
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("dev.panamann.testutil.Backs#all")
    void layerPassesTheGradientCheck(Ops ops) {
        Rng rng = new Rng(3);
        try (ConvRelu layer = new ConvRelu(ops, 2, 3, 3, 1, 1, rng, 0.5f, "W", "b");
             Tensor x = Tensor.randn(rng, 1f, 2, 2, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 3, 4, 4)) {
            GradAssert.allOk(ops.name() + " ConvRelu", GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("dev.panamann.testutil.Backs#all")
    void layerEqualsConv2dThenReLU(Ops ops) {
        Rng rng = new Rng(5);
        try (Tensor w = Tensor.randn(rng, 0.4f, 4, 3, 3, 2); Tensor b = Tensor.randn(rng, 0.2f, 4);
             Tensor x = Tensor.randn(rng, 1f, 2, 3, 8, 9); Tensor dout = Tensor.randn(rng, 1f, 2, 4, 8, 10);
             Conv2d conv = new Conv2d(ops, w.copy(), b.copy(), 1, 1); ReLU relu = new ReLU();
             ConvRelu fused = new ConvRelu(ops, w.copy(), b.copy(), 1, 1, "W", "b")) {
            float[] parts = relu.forward(conv.forward(x, Mode.TRAIN), Mode.TRAIN).toArray();
            float[] partsDx = conv.backward(relu.backward(dout)).toArray();
            Tensor out = fused.forward(x, Mode.TRAIN);
            assertTrue(out.hasShape(2, 4, 8, 10), out.shapeString());
            NumGrad.assertAgree(ops.name() + " conv-relu", parts, out.toArray(), 1e-5);
            NumGrad.assertAgree(ops.name() + " conv-relu dx", partsDx, fused.backward(dout).toArray(), 1e-5);
            NumGrad.assertAgree(ops.name() + " conv-relu dW", conv.weight().grad().toArray(), fused.weight().grad().toArray(), 1e-5);
            NumGrad.assertAgree(ops.name() + " conv-relu db", conv.bias().grad().toArray(), fused.bias().grad().toArray(), 1e-5);
        }
    }

    @Test
    void backwardBeforeATrainingForwardFails() {
        ConvGeometry g = new ConvGeometry(1, 1, 4, 4, 8, 3, 3, 1, 1);
        for (Ops ops : Backs.all()) {
            try (ConvReluOp op = ops.convRelu(g); Tensor x = Tensor.zeros(g.inputShape());
                 Tensor w = Tensor.zeros(g.weightShape()); Tensor b = Tensor.zeros(8); Tensor y = Tensor.zeros(g.outputShape());
                 Tensor dw = Tensor.zeros(g.weightShape()); Tensor db = Tensor.zeros(8)) {
                assertThrows(IllegalStateException.class, () -> op.backward(x, w, y, null, dw, db), ops.name());
                op.forward(x, w, b, y, false);
                assertThrows(IllegalStateException.class, () -> op.backward(x, w, y, null, dw, db), ops.name() + " after eval");
            }
        }
    }

    @Test
    void wrongShapesAreRejectedBeforeAnyNativeCall() {
        ConvGeometry g = new ConvGeometry(2, 3, 8, 8, 8, 3, 3, 1, 1);
        try (ConvReluOp op = Backs.nativeOps().convRelu(g); Tensor x = Tensor.zeros(2, 1, 8, 8);
             Tensor w = Tensor.zeros(g.weightShape()); Tensor b = Tensor.zeros(8); Tensor y = Tensor.zeros(g.outputShape())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.forward(x, w, b, y, true));
            assertTrue(e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
        }
        ConvGeometry closed = new ConvGeometry(1, 1, 4, 4, 8, 3, 3, 1, 1);
        ConvReluOp op = Backs.nativeOps().convRelu(closed);
        op.close();
        try (Tensor x = Tensor.zeros(closed.inputShape()); Tensor w = Tensor.zeros(closed.weightShape());
             Tensor b = Tensor.zeros(8); Tensor y = Tensor.zeros(closed.outputShape())) {
            assertThrows(IllegalStateException.class, () -> op.forward(x, w, b, y, true), "use after close");
        }
    }
}
