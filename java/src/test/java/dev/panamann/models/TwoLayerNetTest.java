package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;
import dev.panamann.testutil.Legacy;
import dev.panamann.tensor.Param;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TwoLayerNetTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    /** The cs231n toy problem: X (5, 4), W1 (4, 10), W2 (10, 3), reference scores and loss. */
    record Toy(double[][] X, int[] y, double[][] W1, double[] b1, double[][] W2, double[] b2, double reg,
               @SerializedName("expected_scores") double[][] expectedScores,
               @SerializedName("expected_loss") double expectedLoss) {}

    static Toy toy;

    @BeforeAll
    static void load() throws IOException {
        String dir = System.getProperty("panamann.sharedDir");
        assertTrue(dir != null, "system property panamann.sharedDir is not set (surefire sets it)");
        Path file = Path.of(dir, "fixtures", "two_layer_net_toy.json");
        assertTrue(Files.isRegularFile(file), "fixture not found: " + file + " (set -Dpanamann.sharedDir)");
        toy = new Gson().fromJson(Files.readString(file), Toy.class);
        JsonObject shapes = new Gson().fromJson(Files.readString(file), JsonObject.class).getAsJsonObject("shapes");
        assertEquals(5, shapes.getAsJsonArray("X").get(0).getAsInt());
        assertEquals(10, shapes.getAsJsonArray("W1").get(1).getAsInt());
    }

    static Tensor tensor(double[][] m) {
        Tensor t = Tensor.zeros(m.length, m[0].length);
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) t.set((float) m[i][j], i, j);
        return t;
    }

    static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }

    static float[] floats(double[][] m) {
        float[] f = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) f[i * m[0].length + j] = (float) m[i][j];
        return f;
    }

    /** The toy net with the fixture's weights. */
    static TwoLayerNet toyNet(Ops ops) {
        TwoLayerNet net = new TwoLayerNet(ops, 4, 10, 3, 1e-1f, (float) toy.reg(), 0);
        Map<String, Param> p = net.paramMap();
        p.get(Legacy.name(net, "W1")).value().copyFrom(floats(toy.W1()));
        p.get(Legacy.name(net, "b1")).value().copyFrom(floats(toy.b1()));
        p.get(Legacy.name(net, "W2")).value().copyFrom(floats(toy.W2()));
        p.get(Legacy.name(net, "b2")).value().copyFrom(floats(toy.b2()));
        return net;
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void reproducesTheReferenceScoresAndLoss(Ops ops) {
        try (TwoLayerNet net = toyNet(ops); Tensor x = tensor(toy.X())) {
            Tensor scores = net.scores(x);
            assertTrue(scores.hasShape(5, 3), scores.shapeString());
            for (int i = 0; i < 5; i++) {
                for (int j = 0; j < 3; j++) {
                    assertEquals(toy.expectedScores()[i][j], scores.get(i, j), 1e-5, ops.name() + " scores[" + i + "," + j + "]");
                }
            }
            assertEquals(toy.expectedLoss(), net.loss(x, toy.y()), 1e-5, ops.name() + " loss");
        }
    }

    /**
     * Gradients of the toy net computed in double straight from the math (an implementation
     * independent of the library): W1, b1, W2, b2 flattened row-major.
     */
    static double[][] referenceGradients() {
        double[][] X = toy.X(), W1 = toy.W1(), W2 = toy.W2();
        int n = 5, d = 4, h = 10, c = 3;
        double[][] hid = new double[n][h], ds = new double[n][c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < h; j++) {
                double s = toy.b1()[j];
                for (int k = 0; k < d; k++) s += X[i][k] * W1[k][j];
                hid[i][j] = Math.max(0, s);
            }
            double[] sc = new double[c];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < c; j++) {
                sc[j] = toy.b2()[j];
                for (int k = 0; k < h; k++) sc[j] += hid[i][k] * W2[k][j];
                max = Math.max(max, sc[j]);
            }
            for (int j = 0; j < c; j++) sum += Math.exp(sc[j] - max);
            for (int j = 0; j < c; j++) ds[i][j] = (Math.exp(sc[j] - max) / sum - (j == toy.y()[i] ? 1 : 0)) / n;
        }
        double[] dW1 = new double[d * h], db1 = new double[h], dW2 = new double[h * c], db2 = new double[c];
        double[][] dhid = new double[n][h];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                db2[j] += ds[i][j];
                for (int k = 0; k < h; k++) {
                    dW2[k * c + j] += hid[i][k] * ds[i][j];
                    dhid[i][k] += hid[i][k] > 0 ? ds[i][j] * W2[k][j] : 0;
                }
            }
            for (int k = 0; k < h; k++) {
                db1[k] += dhid[i][k];
                for (int p = 0; p < d; p++) dW1[p * h + k] += X[i][p] * dhid[i][k];
            }
        }
        for (int p = 0; p < d * h; p++) dW1[p] += toy.reg() * W1[p / h][p % h];
        for (int p = 0; p < h * c; p++) dW2[p] += toy.reg() * W2[p / c][p % c];
        return new double[][] {dW1, db1, dW2, db2};
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void gradientsMatchADoubleReferenceAndTheNumericalCheck(Ops ops) {
        double[][] ref = referenceGradients();
        try (TwoLayerNet net = toyNet(ops); Tensor x = tensor(toy.X())) {
            net.loss(x, toy.y());
            List<String> names = List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias");
            assertEquals(names, List.copyOf(net.paramMap().keySet()));
            for (int k = 0; k < 4; k++) {
                Param p = net.paramMap().get(names.get(k));
                var r = GradientCheck.compare(p.name(), p.grad(), ref[k]);
                assertTrue(r.relError() < 1e-4, ops.name() + " against the double reference: " + r);
            }
            GradAssert.allOk(ops.name() + " two-layer net", GradientCheck.checkModel(net, x, toy.y(), GradientCheck.STEP));
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void gradientCheckOnRandomData(Ops ops) {
        Rng rng = new Rng(30);
        try (TwoLayerNet net = new TwoLayerNet(ops, 6, 8, 4, 0.5f, 0.3f, 31); Tensor x = Tensor.randn(rng, 1f, 7, 6)) {
            int[] y = new int[7];
            for (int i = 0; i < 7; i++) y[i] = rng.nextInt(4);
            GradAssert.allOk(ops.name() + " two-layer net (random)", GradientCheck.checkModel(net, x, y, GradientCheck.STEP));
        }
    }

    @Test
    void initializationIsSeededAndScaled() {
        try (TwoLayerNet a = new TwoLayerNet(Backs.java(), 50, 40, 10, 1e-2f, 0f, 5);
             TwoLayerNet b = new TwoLayerNet(Backs.java(), 50, 40, 10, 1e-2f, 0f, 5)) {
            float[] w1 = a.paramMap().get(Legacy.name(a, "W1")).value().toArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(w1, b.paramMap().get(Legacy.name(b, "W1")).value().toArray());
            double s = 0;
            for (float v : w1) s += v * v;
            assertEquals(1e-2, Math.sqrt(s / w1.length), 1e-3);
            assertTrue(a.paramMap().get(Legacy.name(a, "W2")).value().hasShape(40, 10));
            for (float v : a.paramMap().get(Legacy.name(a, "b1")).value().toArray()) assertEquals(0f, v);
            assertEquals(10, a.numClasses());
        }
    }

    @Test
    void regularizationCoversWeightsOnly() {
        try (TwoLayerNet net = toyNet(Backs.java()); Tensor x = tensor(toy.X())) {
            float withReg = net.loss(x, toy.y());
            float[] db1 = net.paramMap().get(Legacy.name(net, "b1")).grad().toArray();
            net.setReg(0f);
            float without = net.loss(x, toy.y());
            double sq = 0;
            for (double[] r : toy.W1()) for (double v : r) sq += v * v;
            for (double[] r : toy.W2()) for (double v : r) sq += v * v;
            assertEquals(0.5 * toy.reg() * sq, withReg - without, 1e-6);
            org.junit.jupiter.api.Assertions.assertArrayEquals(db1, net.paramMap().get(Legacy.name(net, "b1")).grad().toArray());
            assertThrows(IllegalArgumentException.class, () -> net.setReg(-1f));
        }
    }

    @Test
    void wrongInputWidthNamesBothShapes() {
        try (TwoLayerNet net = toyNet(Backs.java()); Tensor x = Tensor.zeros(5, 6)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.loss(x, toy.y()));
            assertTrue(e.getMessage().contains("[5, 6]") && e.getMessage().contains("[4, 10]"), e.getMessage());
        }
    }
}
