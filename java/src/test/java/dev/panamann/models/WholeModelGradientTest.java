package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.Labels;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A numerical check of the whole gradient of the deep CIFAR-10 models (ResNet9, VggSmall), one parameter tensor at a time, along the
 * tensor's own gradient direction: moving tensor T by {@code eps * g_T / |g_T|} changes the
 * loss at the rate {@code |g_T|} when {@code g_T} is right. A step of a single element (the
 * element-wise check) crosses ReLU and max-pool kinks through nine batch norms and misses by
 * 1-30 % in float32; along the gradient the kinks average out (worst error 1.3 % on both
 * backends at this size), so a gradient that is 5 % off in any tensor is caught. The
 * convolution biases in front of a batch norm have a true gradient of 0 (the norm removes
 * them); for those both derivatives must be tiny.
 */
class WholeModelGradientTest {
    static final double EPS = 3e-4, TOL = 0.03;

    static Stream<Arguments> cases() {
        return Backs.all().stream().flatMap(o -> Stream.of(Arguments.of(o, "resnet9"), Arguments.of(o, "vgg")));
    }

    /** A tiny instance (width 2, 16x16 inputs, reg 1e-3). */
    private static SequentialModel model(Ops ops, String kind) {
        return kind.equals("resnet9") ? new ResNet9(ops, new int[] {3, 16, 16}, 2, 10, 1e-3f, 3)
                : new VggSmall(ops, new int[] {3, 16, 16}, 2, 10, 1e-3f, 3);
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("cases")
    void everyTensorsGradientMatchesTheLossAlongIt(Ops ops, String kind) {
        List<String> bad = check(ops, kind, null, 1.0);
        assertTrue(bad.isEmpty(), ops.name() + ", " + kind + ": " + bad);
    }

    /** The check catches a gradient 5 % off in one tensor (inside a residual block of ResNet9), and only that tensor. */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("cases")
    void aGradientFivePercentOffFails(Ops ops, String kind) {
        String wrong = kind.equals("resnet9") ? "layers.3.layer1.res.0.conv.weight" : "layers.4.stage2.1.conv.weight";
        List<String> bad = check(ops, kind, wrong, 1.05);
        assertEquals(1, bad.size(), ops.name() + ": " + bad);
        assertTrue(bad.get(0).startsWith(wrong), bad.get(0));
    }

    /**
     * The failures (name and errors) of the check on a tiny model over 16 images; the analytic
     * gradient of {@code scaled} is multiplied by {@code by}.
     */
    private static List<String> check(Ops ops, String kind, String scaled, double by) {
        Rng rng = new Rng(5);
        List<String> bad = new ArrayList<>();
        try (SequentialModel net = model(ops, kind); Tensor x = Tensor.randn(rng, 1f, 16, 3, 16, 16)) {
            int[] y = Labels.random(rng, 16, 10);
            net.lossDouble(x, y);
            List<Param> ps = net.params();
            float[][] g = new float[ps.size()][];
            for (int i = 0; i < ps.size(); i++) {
                g[i] = ps.get(i).grad().toArray();
                if (ps.get(i).name().equals(scaled)) for (int j = 0; j < g[i].length; j++) g[i][j] *= (float) by;
            }
            for (int i = 0; i < ps.size(); i++) {
                Param p = ps.get(i);
                float[] w0 = p.value().toArray();
                double norm = 0;
                for (float v : g[i]) norm += (double) v * v;
                norm = Math.sqrt(norm);
                if (p.name().endsWith("conv.bias")) { // in front of a batch norm: the true gradient is 0
                    float[] d = new float[w0.length];
                    java.util.Arrays.fill(d, (float) (1 / Math.sqrt(d.length)));
                    double num = directional(net, x, y, p, w0, d);
                    if (norm > 1e-5 || Math.abs(num) > 1e-3) bad.add(String.format("%s |g| %.2e, slope %.2e (want ~0)", p.name(), norm, num));
                    continue;
                }
                float[] d = new float[w0.length];
                for (int j = 0; j < d.length; j++) d[j] = (float) (g[i][j] / norm);
                double num = directional(net, x, y, p, w0, d);
                double err = Math.abs(num - norm) / norm;
                if (!(err <= TOL)) bad.add(String.format("%s |g| %.4e, slope %.4e, error %.3f", p.name(), norm, num, err));
            }
        }
        return bad;
    }

    /** The centred difference of the loss along d (unit length) with step EPS, then w0 restored. */
    private static double directional(SequentialModel net, Tensor x, int[] y, Param p, float[] w0, float[] d) {
        float[] w = new float[w0.length];
        for (int j = 0; j < w.length; j++) w[j] = (float) (w0[j] + EPS * d[j]);
        p.value().copyFrom(w);
        double lp = net.lossDouble(x, y);
        for (int j = 0; j < w.length; j++) w[j] = (float) (w0[j] - EPS * d[j]);
        p.value().copyFrom(w);
        double lm = net.lossDouble(x, y);
        p.value().copyFrom(w0);
        return (lp - lm) / (2 * EPS);
    }
}
