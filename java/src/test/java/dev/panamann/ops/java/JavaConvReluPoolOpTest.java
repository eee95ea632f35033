package dev.panamann.ops.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.NumGrad;
import org.junit.jupiter.api.Test;

/**
 * The Java backend's one-pass conv - ReLU - max pool against the same backend's convolution,
 * ReLU loop and pooling composed ({@link ComposedConvReluPoolOp}), with both gemm kernels, on
 * one and three threads.
 */
class JavaConvReluPoolOpTest {
    /** n, c, h, w, f, k, stride, pad, pool kernel, pool stride (the native plan's test cases, and odd ones). */
    static final int[][] CASES = {
        {2, 3, 8, 8, 8, 3, 1, 1, 2, 2},
        {3, 3, 10, 6, 16, 5, 1, 2, 2, 2},
        {1, 2, 9, 9, 5, 3, 2, 0, 2, 1},     // stride 2, overlapping pool windows
        {2, 1, 7, 7, 32, 7, 1, 3, 3, 2},
        {3, 2, 11, 9, 33, 3, 1, 1, 3, 3},   // filters past the panels, 3x3 windows that leave a border
        {5, 1, 6, 6, 1, 1, 1, 0, 2, 2},     // one filter, 1x1 kernel, more images than threads
    };

    @Test
    void onePassPlanMatchesTheComposedOne() {
        for (int[] a : CASES) {
            ConvGeometry g = new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
            for (GemmKernel kernel : new GemmKernel[] {GemmKernelTest.vector(), ScalarGemmKernel.INSTANCE}) {
                for (int threads : new int[] {1, 3}) {
                    try (JavaOps ops = new JavaOps(threads, kernel); ConvReluPoolOp fused = ops.convReluPool(g, a[8], a[9]);
                         ConvReluPoolOp composed = new ComposedConvReluPoolOp(ops, g, a[8], a[9])) {
                        assertTrue(fused instanceof JavaConvReluPoolOp, fused.getClass().getName());
                        compare(g, fused, composed, g + ", pool " + a[8] + "/" + a[9] + ", " + ops);
                    }
                }
            }
        }
    }

    private static void compare(ConvGeometry g, ConvReluPoolOp fused, ConvReluPoolOp composed, String what) {
        Rng rng = new Rng(g.n() * 7L + g.f());
        int[] pShape = fused.pool().outputShape();
        try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.3f, g.weightShape());
             Tensor b = Tensor.randn(rng, 0.3f, g.f()); Tensor dout = Tensor.randn(rng, 1f, pShape);
             Tensor of = Tensor.zeros(pShape); Tensor oc = Tensor.zeros(pShape);
             Tensor dxf = Tensor.zeros(g.inputShape()); Tensor dxc = Tensor.zeros(g.inputShape());
             Tensor dwf = Tensor.zeros(g.weightShape()); Tensor dwc = Tensor.zeros(g.weightShape());
             Tensor dbf = Tensor.zeros(g.f()); Tensor dbc = Tensor.zeros(g.f())) {
            for (int round = 0; round < 2; round++) {
                if (round == 1) { // a negative bias: whole windows cut by the ReLU
                    float[] shifted = b.toArray();
                    for (int i = 0; i < shifted.length; i++) shifted[i] -= 0.8f;
                    b.copyFrom(shifted);
                }
                fused.forward(x, w, b, of, true);
                composed.forward(x, w, b, oc, true);
                fused.backward(x, w, dout, dxf, dwf, dbf);
                composed.backward(x, w, dout, dxc, dwc, dbc);
                // the same products in the same order: the pooled output is equal, the gradients agree to rounding
                assertArrayEquals(oc.toArray(), of.toArray(), "out, " + what);
                NumGrad.assertAgree("dx, " + what, dxc.toArray(), dxf.toArray(), 1e-5);
                NumGrad.assertAgree("dw, " + what, dwc.toArray(), dwf.toArray(), 1e-5);
                NumGrad.assertAgree("db, " + what, dbc.toArray(), dbf.toArray(), 1e-5);
            }
            fused.backward(x, w, dout, null, dwf, dbf); // without dx
            NumGrad.assertAgree("dw without dx, " + what, dwc.toArray(), dwf.toArray(), 1e-5);
        }
    }

    @Test
    void wrongShapesAndUseAfterCloseFail() {
        ConvGeometry g = new ConvGeometry(2, 3, 8, 8, 4, 3, 3, 1, 1);
        JavaOps ops = new JavaOps(2);
        ConvReluPoolOp op = ops.convReluPool(g, 2, 2);
        try (Tensor x = Tensor.zeros(g.inputShape()); Tensor w = Tensor.zeros(g.weightShape()); Tensor b = Tensor.zeros(4);
             Tensor bad = Tensor.zeros(2, 4, 8, 8); Tensor out = Tensor.zeros(op.pool().outputShape())) {
            assertThrows(IllegalArgumentException.class, () -> op.forward(x, w, b, bad, true));
            op.forward(x, w, b, out, true);
            op.close();
            assertThrows(IllegalStateException.class, () -> op.forward(x, w, b, out, true));
        } finally {
            ops.close();
        }
    }
}
