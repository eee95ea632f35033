package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.loss.Loss;
import dev.panamann.loss.MulticlassHinge;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.testutil.NumGrad;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A {@link SequentialModel} trains with the loss it is given: softmax by default, or the SVM hinge. */
class SequentialModelLossTest {


    private static double l2(SequentialModel m) {
        double s = 0;
        for (Param p : m.params()) if (p.regularized()) for (float v : p.value().toArray()) s += (double) v * v;
        return 0.5 * m.reg() * s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void hingeLossReplacesSoftmaxAndItsGradientsCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(5);
        int[] y = {0, 2, 1, 2, 0, 1};
        try (TwoLayerNet net = new TwoLayerNet(ops, 4, 7, 3, 0.5f, 0.1f, 9); Tensor x = Tensor.randn(rng, 1f, 6, 4);
             Loss reference = new MulticlassHinge(); Loss softmax = new SoftmaxCrossEntropy()) {
            assertInstanceOf(SoftmaxCrossEntropy.class, net.criterion(), "softmax by default");
            double soft = net.lossDouble(x, y);
            assertEquals(softmax.forwardDouble(net.scores(x), y) + l2(net), soft, 1e-5);

            MulticlassHinge hinge = new MulticlassHinge();
            assertSame(net, net.setLoss(hinge));
            assertSame(hinge, net.criterion());
            double expected = reference.forwardDouble(net.scores(x), y) + l2(net);
            assertEquals(expected, net.lossDouble(x, y), 1e-5, "data loss is the hinge on the model's scores");
            assertTrue(Math.abs(expected - soft) > 1e-3, "and differs from the softmax loss");
            GradAssert.allOk(ops.name() + " two-layer net with hinge loss", GradientCheck.checkModel(net, x, y, GradientCheck.STEP));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void aModelTrainedWithHingeLossLearnsAToyProblem(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(11);
        int n = 32;
        int[] y = new int[n];
        try (TwoLayerNet net = new TwoLayerNet(ops, 2, 16, 2, 0.3f, 0f, 3); Tensor x = Tensor.randn(rng, 1f, n, 2)) {
            for (int i = 0; i < n; i++) y[i] = x.get(i, 0) + x.get(i, 1) > 0 ? 1 : 0;
            net.setLoss(Loss.byName("hinge"));
            double first = net.lossDouble(x, y), last = first;
            for (int step = 0; step < 200; step++) {
                last = net.lossDouble(x, y);
                for (Param p : net.params()) {
                    float[] v = p.value().toArray(), g = p.grad().toArray();
                    for (int i = 0; i < v.length; i++) v[i] -= 0.1f * g[i];
                    p.value().copyFrom(v);
                }
            }
            assertTrue(last < 0.25 * first, "hinge loss fell from " + first + " to " + last);
            Tensor s = net.scores(x);
            int right = 0;
            for (int i = 0; i < n; i++) if ((s.get(i, 1) > s.get(i, 0) ? 1 : 0) == y[i]) right++;
            assertTrue(right >= n - 2, right + " of " + n + " right");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void lossesByNameAndNullRejected(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (Loss s = Loss.byName("softmax"); Loss h = Loss.byName("HINGE")) {
            assertInstanceOf(SoftmaxCrossEntropy.class, s);
            assertInstanceOf(MulticlassHinge.class, h);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Loss.byName("l1"));
        assertTrue(e.getMessage().contains("'l1'") && e.getMessage().contains("softmax, hinge"), e.getMessage());
        try (TwoLayerNet net = new TwoLayerNet(ops, 4, 5, 3, 0.1f, 0f, 1)) {
            assertThrows(IllegalArgumentException.class, () -> net.setLoss(null));
        }
    }
}
