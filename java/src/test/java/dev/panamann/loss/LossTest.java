package dev.panamann.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.testutil.Labels;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The losses are plain Java loops (no backend), so each check runs once. */
class LossTest {

    @Test
    void softmaxUniformScoresGiveLogC() {
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(); Tensor s = Tensor.zeros(4, 10)) {
            assertEquals(Math.log(10), l.forward(s, new int[] {0, 3, 9, 5}), 1e-6);
            // gradient: (1/10 - 1{j = y}) / 4
            assertEquals(0.1f / 4, l.dscores().get(0, 1), 1e-7);
            assertEquals(-0.9f / 4, l.dscores().get(2, 9), 1e-7);
        }
    }

    @Test
    void softmaxIsStableForHugeScores() {
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy();
             Tensor s = Tensor.of(new float[] {1000f, 0f, -1000f, 5000f, 5000f, 4999f}, 2, 3)) {
            float loss = l.forward(s, new int[] {1, 2});
            // row 0: -log softmax = 1000; row 1: log(2 + e^-1) + 1
            double expected = (1000 + (Math.log(2 + Math.exp(-1)) + 1)) / 2;
            assertEquals(expected, loss, 1e-3);
            for (float v : l.dscores().toArray()) assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void softmaxGradientCheck() {
        Rng rng = new Rng(20);
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(); Tensor s = Tensor.randn(rng, 2f, 6, 5)) {
            GradAssert.ok("softmax", GradientCheck.checkLoss(l, s, Labels.random(rng, 6, 5), GradientCheck.STEP));
        }
    }

    @Test
    void labelSmoothingGradientCheck() {
        Rng rng = new Rng(21);
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(0.1); Tensor s = Tensor.randn(rng, 2f, 6, 5)) {
            GradAssert.ok("softmax, label smoothing 0.1", GradientCheck.checkLoss(l, s, Labels.random(rng, 6, 5), GradientCheck.STEP));
        }
    }

    /** Hand-computed: two classes, scores (0, ln 3): p = (1/4, 3/4); eps 0.2 gives q = (0.9, 0.1) for label 0. */
    @Test
    void labelSmoothingHandComputed() {
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(0.2);
             Tensor s = Tensor.of(new float[] {0f, (float) Math.log(3)}, 1, 2)) {
            double expected = -(0.9 * Math.log(0.25) + 0.1 * Math.log(0.75));
            assertEquals(expected, l.forwardDouble(s, new int[] {0}), 1e-6);
            assertEquals(0.25 - 0.9, l.dscores().get(0, 0), 1e-6);
            assertEquals(0.75 - 0.1, l.dscores().get(0, 1), 1e-6);
        }
        // uniform scores: the loss is log C whatever the smoothing, and the gradient is 1/C - q
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(0.5); Tensor s = Tensor.zeros(2, 4)) {
            assertEquals(Math.log(4), l.forward(s, new int[] {1, 3}), 1e-6);
            assertEquals((0.25 - (0.5 + 0.125)) / 2, l.dscores().get(0, 1), 1e-7);
            assertEquals((0.25 - 0.125) / 2, l.dscores().get(0, 0), 1e-7);
        }
        assertThrows(IllegalArgumentException.class, () -> new SoftmaxCrossEntropy(1.0));
        assertThrows(IllegalArgumentException.class, () -> new SoftmaxCrossEntropy(-0.1));
        assertThrows(IllegalArgumentException.class, () -> new SoftmaxCrossEntropy(Double.NaN));
    }

    @Test
    void hingeHandComputed() {
        try (MulticlassHinge l = new MulticlassHinge();
             Tensor s = Tensor.of(new float[] {3f, 1.5f, 2.5f, 0f, 5f, -1f}, 2, 3)) {
            // row 0, y=0: margins max(0, 1.5-3+1)=0, max(0, 2.5-3+1)=0.5 -> 0.5
            // row 1, y=2: margins max(0, 0+1+1)=2, max(0, 5+1+1)=7 -> 9
            assertEquals((0.5 + 9) / 2, l.forward(s, new int[] {0, 2}), 1e-6);
            float[] d = l.dscores().toArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {-0.5f, 0f, 0.5f, 0.5f, 0.5f, -1f}, d, 1e-7f);
        }
    }

    @Test
    void hingeGradientCheck() {
        Rng rng = new Rng(21);
        try (MulticlassHinge l = new MulticlassHinge(); Tensor s = Tensor.randn(rng, 2f, 8, 5)) {
            int[] y = Labels.random(rng, 8, 5);
            // keep every margin at least 0.1 away from its kink, so no step crosses it
            for (int i = 0; i < 8; i++) {
                for (int j = 0; j < 5; j++) {
                    if (j == y[i]) continue;
                    float m = s.get(i, j) - s.get(i, y[i]) + 1;
                    if (Math.abs(m) < 0.1f) s.set(s.get(i, j) + (m < 0 ? -0.2f : 0.2f), i, j);
                }
            }
            GradAssert.ok("hinge", GradientCheck.checkLoss(l, s, y, GradientCheck.STEP));
        }
    }

    @Test
    void dscoresIsReusedWhileTheShapeHolds() {
        try (SoftmaxCrossEntropy l = new SoftmaxCrossEntropy(); Tensor s = Tensor.zeros(4, 3)) {
            l.forward(s, new int[] {0, 1, 2, 0});
            Tensor d = l.dscores();
            l.forward(s, new int[] {1, 1, 2, 0});
            assertSame(d, l.dscores());
        }
    }

    static void badInputs(Supplier<Loss> make) {
        try (Loss l = make.get(); Tensor s = Tensor.zeros(5, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> l.forward(s, new int[] {0, 1, 2}));
            assertTrue(e.getMessage().contains("3 labels") && e.getMessage().contains("[5, 3]"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> l.forward(s, new int[] {0, 1, 2, 3, 0}));
            assertTrue(e.getMessage().contains("y[3] = 3") && e.getMessage().contains("[0, 3)"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> l.forward(s, new int[] {0, -1, 2, 1, 0}));
            assertTrue(e.getMessage().contains("y[1] = -1") && e.getMessage().contains("[0, 3)"), e.getMessage());

            try (Tensor s3 = Tensor.zeros(5, 3, 1)) {
                e = assertThrows(IllegalArgumentException.class, () -> l.forward(s3, new int[5]));
                assertTrue(e.getMessage().contains("[5, 3, 1]"), e.getMessage());
            }

            assertThrows(IllegalStateException.class, l::dscores, "no forward yet");

            Tensor closed = Tensor.zeros(5, 3);
            closed.close();
            IllegalStateException c = assertThrows(IllegalStateException.class, () -> l.forward(closed, new int[5]));
            assertTrue(c.getMessage().contains("closed"), c.getMessage());
        }
    }

    @Test
    void softmaxBadInputs() { badInputs(SoftmaxCrossEntropy::new); }

    @Test
    void hingeBadInputs() { badInputs(MulticlassHinge::new); }
}
