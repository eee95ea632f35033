package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.GradAssert;
import dev.panamann.testutil.NumGrad;
import dev.panamann.train.GradientCheck;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The layers of the ResNet / VGG-style nets: ResidualBlock, ConvBnRelu, GlobalAvgPool2d. */
class ResidualBlockTest {

    /** Identity block: two conv-bn-relu units of 3 channels. */
    private static ResidualBlock identityBlock(Ops ops, long seed) {
        Rng rng = new Rng(seed);
        return new ResidualBlock(new Sequential(new ConvBnRelu(ops, 3, 3, 3, 1, rng, "a"), new ConvBnRelu(ops, 3, 3, 3, 1, rng, "b")));
    }

    /**
     * Projection block: the body goes from 2 to 4 channels at stride 2 (conv - batch norm - conv,
     * no ReLU: with one, moving one input moves every normalized value of its channel and a
     * float32 step crosses several kinks at once; ConvBnRelu is checked on its own), the shortcut
     * is a strided 1x1 convolution.
     */
    private static ResidualBlock projectionBlock(Ops ops, long seed) {
        Rng rng = new Rng(seed);
        return new ResidualBlock(
                new Sequential(new Conv2d(ops, 2, 4, 3, 2, 1, rng, 0.5f, "a.conv.weight", "a.conv.bias"),
                        BatchNorm.named(ops, 4, 1e-5f, 0.9f, "a.bn"), new Conv2d(ops, 4, 4, 3, 1, 1, rng, 0.3f, "b.weight", "b.bias")),
                new Conv2d(ops, 2, 4, 1, 2, 0, rng, 0.5f, "proj.weight", "proj.bias"));
    }

    /**
     * With two batch norms in the chain, the float32 forward differenced at the default step 1e-3
     * has noise near the tolerance on every backend: the first convolution's bias, whose exact
     * gradient is 0 (the batch norm removes it), gets numerical values of 5.5e-4 to 5.9e-4 (Java,
     * native with separate ops, native with the fused unit), and the worst x errors were 9.1e-4
     * (native, separate ops) and 1.07e-3 (native, fused unit) while the analytic gradients of the
     * three agree to 1e-7. At twice the step the x errors were 3.9e-4 to 5.9e-4 on the three.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void identityBlockGradientCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(3);
        try (ResidualBlock block = identityBlock(ops, 4); Tensor x = Tensor.randn(rng, 1f, 2, 3, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 3, 4, 4)) {
            var r = GradientCheck.checkLayer(block, x, dout, Mode.TRAIN, 2 * GradientCheck.STEP);
            assertEquals(List.of("x", "a.conv.weight", "a.conv.bias", "a.bn.weight", "a.bn.bias",
                    "b.conv.weight", "b.conv.bias", "b.bn.weight", "b.bn.bias"), List.copyOf(r.keySet()));
            GradAssert.allOk(backend + " identity residual block", r);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void projectionBlockGradientCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(5);
        try (ResidualBlock block = projectionBlock(ops, 6); Tensor x = Tensor.randn(rng, 1f, 2, 2, 8, 8);
             Tensor dout = Tensor.randn(rng, 1f, 2, 4, 4, 4)) {
            // no kinks in this block, so a larger step than the default: the float32 rounding
            // of the batch statistics, shared by every output of a channel, is ~1e-3 of the
            // gradient at the default step
            var r = GradientCheck.checkLayer(block, x, dout, Mode.TRAIN, 1e-2);
            assertTrue(r.containsKey("proj.weight") && r.containsKey("proj.bias"), r.keySet().toString());
            GradAssert.allOk(backend + " projection residual block", r);
        }
    }

    @Test
    void aWrongBodyGradientFailsTheCheck() {
        // the block check must see a bug in the sum: a body whose input gradient is 1 % off
        Ops ops = Backs.java();
        Rng rng = new Rng(7);
        Layer off = new Layer() {
            private final Layer inner = new ConvBnRelu(ops, 3, 3, 3, 1, new Rng(8), "a");
            @Override public Tensor forward(Tensor x, Mode mode) { return inner.forward(x, mode); }
            @Override public Tensor backward(Tensor dout) {
                Tensor d = inner.backward(dout);
                for (long i = 0; i < d.size(); i++) d.setFlat(i, d.getFlat(i) * 1.01f);
                return d;
            }
            @Override public List<Param> params() { return inner.params(); }
            @Override public void close() { inner.close(); }
        };
        try (ResidualBlock block = new ResidualBlock(off); Tensor x = Tensor.randn(rng, 1f, 2, 3, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 3, 4, 4)) {
            var r = GradientCheck.checkLayer(block, x, dout, Mode.TRAIN, GradientCheck.STEP);
            assertFalse(r.get("x").ok(GradientCheck.TOLERANCE), "a 1% error in the body's dx passed: " + r.get("x"));
        }
    }

    @Test
    void forwardIsBodyPlusShortcut() {
        Ops ops = Backs.java();
        try (ResidualBlock block = projectionBlock(ops, 9); Tensor x = Tensor.randn(new Rng(10), 1f, 2, 2, 4, 4)) {
            float[] out = block.forward(x, Mode.EVAL).toArray();
            float[] body = block.body().forward(x, Mode.EVAL).toArray();
            float[] skip = block.shortcut().forward(x, Mode.EVAL).toArray();
            for (int i = 0; i < out.length; i++) assertEquals(body[i] + skip[i], out[i], 1e-6f);
        }
        try (ResidualBlock id = new ResidualBlock(new ReLU()); Tensor x = Tensor.of(new float[] {-1, 2, -3, 4}, 1, 4);
             Tensor dout = Tensor.of(new float[] {1, 1, 1, 1}, 1, 4)) {
            assertArrayEquals(new float[] {-1, 4, -3, 8}, id.forward(x, Mode.TRAIN).toArray());
            assertArrayEquals(new float[] {1, 2, 1, 2}, id.backward(dout).toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badShapesAndOrderGiveClearErrors(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(11);
        try (ResidualBlock noProjection = new ResidualBlock(new ConvBnRelu(ops, 2, 4, 3, 1, rng, "a"));
             ResidualBlock block = identityBlock(ops, 12); Tensor x = Tensor.randn(rng, 1f, 2, 2, 4, 4);
             Tensor x3 = Tensor.randn(rng, 1f, 2, 3, 4, 4); Tensor wrong = Tensor.zeros(2, 3, 2, 2)) {
            assertThrows(IllegalStateException.class, () -> block.backward(x3));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> noProjection.forward(x, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[2, 4, 4, 4]") && e.getMessage().contains("[2, 2, 4, 4]")
                    && e.getMessage().contains("projection"), e.getMessage());
            block.forward(x3, Mode.TRAIN);
            e = assertThrows(IllegalArgumentException.class, () -> block.backward(wrong));
            assertTrue(e.getMessage().contains("[2, 3, 2, 2]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new ResidualBlock(null));
    }

    @Test
    void paramsAndBuffersAreNamedAndDuplicatesRejected() {
        Ops ops = Backs.java();
        try (ResidualBlock block = projectionBlock(ops, 13)) {
            assertEquals(List.of("a.conv.weight", "a.conv.bias", "a.bn.weight", "a.bn.bias", "b.weight", "b.bias",
                    "proj.weight", "proj.bias"), block.params().stream().map(Param::name).toList());
            assertEquals(List.of("a.bn.running_mean", "a.bn.running_var"), List.copyOf(block.buffers().keySet()));
        }
        Rng rng = new Rng(14);
        try (ResidualBlock same = new ResidualBlock(new Sequential(new ConvBnRelu(ops, 2, 2, 3, 1, rng, "a"),
                new ConvBnRelu(ops, 2, 2, 3, 1, rng, "a")))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, same::buffers);
            assertTrue(e.getMessage().contains("a.bn.running_mean"), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void convBnReluGradientCheckAndEvalUsesRunningStatistics(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(15);
        try (ConvBnRelu unit = new ConvBnRelu(ops, 2, 3, 3, 2, rng, "u"); Tensor x = Tensor.randn(rng, 1f, 3, 2, 5, 5);
             Tensor dout = Tensor.randn(rng, 1f, 3, 3, 3, 3)) {
            GradAssert.allOk(backend + " conv-bn-relu", GradientCheck.checkLayer(unit, x, dout, Mode.TRAIN, GradientCheck.STEP));
            // EVAL = conv, then (y - running mean) / sqrt(running var + eps) * gamma + beta, then ReLU
            unit.batchNorm().runningMean().copyFrom(new float[] {0.1f, -0.2f, 0.3f});
            unit.batchNorm().runningVar().copyFrom(new float[] {0.5f, 2f, 1f});
            unit.batchNorm().gamma().value().copyFrom(new float[] {1f, -1f, 2f});
            unit.batchNorm().beta().value().copyFrom(new float[] {0f, 0.1f, -0.1f});
            float[] conv = unit.conv().forward(x, Mode.EVAL).toArray().clone();
            float[] out = unit.forward(x, Mode.EVAL).toArray();
            float[] m = unit.batchNorm().runningMean().toArray(), v = unit.batchNorm().runningVar().toArray();
            float[] g = unit.batchNorm().gamma().value().toArray(), b = unit.batchNorm().beta().value().toArray();
            for (int i = 0; i < out.length; i++) {
                int c = (i / 9) % 3;
                double want = Math.max(0, g[c] * (conv[i] - m[c]) / Math.sqrt(v[c] + 1e-5) + b[c]);
                assertEquals(want, out[i], 1e-5, backend + " eval element " + i);
            }
            assertArrayEquals(new float[] {0.1f, -0.2f, 0.3f}, unit.batchNorm().runningMean().toArray(), "EVAL leaves them");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void globalAvgPoolValuesAndGradientCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(16);
        try (GlobalAvgPool2d pool = new GlobalAvgPool2d(ops); Tensor x = Tensor.randn(rng, 1f, 2, 3, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 2, 3); Tensor rect = Tensor.zeros(2, 3, 4, 2)) {
            float[] xs = x.toArray(), out = pool.forward(x, Mode.TRAIN).toArray();
            assertArrayEquals(new int[] {2, 3}, pool.forward(x, Mode.TRAIN).shape());
            for (int nc = 0; nc < 6; nc++) {
                double s = 0;
                for (int k = 0; k < 16; k++) s += xs[nc * 16 + k];
                assertEquals(s / 16, out[nc], 1e-6);
            }
            float[] dx = pool.backward(dout).toArray(), d = dout.toArray();
            for (int i = 0; i < dx.length; i++) assertEquals(d[i / 16] / 16, dx[i], 1e-7f);
            GradAssert.allOk(backend + " global avg pool", GradientCheck.checkLayer(pool, x, dout, Mode.TRAIN, GradientCheck.STEP));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.forward(rect, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[2, 3, 4, 2]"), e.getMessage());
        }
    }

    @Test
    void backendsAgreeOnTheBlockOverSeveralSteps() {
        Ops nat = Backs.nativeOps();
        Function<Ops, Layer> make = ops -> new Sequential(projectionBlock(ops, 17), new ReLU(), identityBlockOf(ops), new GlobalAvgPool2d(ops));
        try (Layer j = make.apply(Backs.java()); Layer n = make.apply(nat)) {
            Rng rng = new Rng(18);
            for (int step = 0; step < 3; step++) {
                try (Tensor x = Tensor.randn(rng, 1f, 4, 2, 8, 8); Tensor dout = Tensor.randn(rng, 1f, 4, 4)) {
                    NumGrad.assertAgree("out", j.forward(x, Mode.TRAIN).toArray(), n.forward(x, Mode.TRAIN).toArray(), 1e-4);
                    NumGrad.assertAgree("dx", j.backward(dout).toArray(), n.backward(dout).toArray(), 1e-4);
                    for (int p = 0; p < j.params().size(); p++) {
                        NumGrad.assertAgree(j.params().get(p).name(), j.params().get(p).grad().toArray(),
                                n.params().get(p).grad().toArray(), 1e-4);
                    }
                }
            }
            try (Tensor x = Tensor.randn(rng, 1f, 3, 2, 8, 8)) {
                NumGrad.assertAgree("eval", j.forward(x, Mode.EVAL).toArray(), n.forward(x, Mode.EVAL).toArray(), 1e-4);
            }
        }
    }

    private static ResidualBlock identityBlockOf(Ops ops) {
        Rng rng = new Rng(19);
        return new ResidualBlock(new Sequential(new ConvBnRelu(ops, 4, 4, 3, 1, rng, "c"), new ConvBnRelu(ops, 4, 4, 3, 1, rng, "d")));
    }
}
