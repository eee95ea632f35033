package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The L2 weight decay of sgd, sgd_momentum, nesterov, rmsprop and adam ({@code weight_decay}):
 * the same parameters, to the bit, as the model's L2 term ({@link L2Penalty}, what
 * {@code Model.loss} adds to the gradients) followed by the rule without decay, on every kind of
 * loop and thread count; the gradients are left as they are and unregularized params are not
 * decayed.
 */
class L2WeightDecayTest {
    static final List<String> RULES = List.of("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam");
    /** A large weight (split over the threads), a small one and a bias. */
    static final int[][] SHAPES = {{181, 191}, {37, 5}, {191}};
    static final float REG = 0.05f;

    private final int threadsBefore = UpdateThreads.threads();

    @AfterEach
    void restore() {
        UpdateThreads.setThreads(threadsBefore);
    }

    @Test
    void decayInTheRuleEqualsTheModelsL2TermToTheBit() {
        String before = System.getProperty("panamann.java.vector");
        try {
            for (String setting : new String[] {"on", "off"}) { // the Vector API loops in place, the heap-array chunks
                System.setProperty("panamann.java.vector", setting);
                for (int threads : new int[] {1, 2}) {
                    UpdateThreads.setThreads(threads);
                    for (String rule : RULES) {
                        compare(rule, setting + ", " + threads + " threads", false);
                        compare(rule, setting + ", " + threads + " threads, one param at a time", true);
                    }
                }
            }
        } finally {
            if (before == null) System.clearProperty("panamann.java.vector");
            else System.setProperty("panamann.java.vector", before);
        }
    }

    private static void compare(String rule, String how, boolean oneAtATime) {
        Rng rng = new Rng(3);
        List<Param> decayed = new ArrayList<>(), viaL2 = new ArrayList<>();
        try (Optimizer withDecay = Optimizers.create(rule, Map.of("learning_rate", 1e-2, "weight_decay", (double) REG));
             Optimizer plain = Optimizers.create(rule, Map.of("learning_rate", 1e-2))) {
            for (int i = 0; i < SHAPES.length; i++) {
                boolean weight = i < 2;
                decayed.add(new Param("p" + i, Tensor.randn(rng, 1f, SHAPES[i]), weight));
                viaL2.add(new Param("p" + i, decayed.get(i).value().copy(), weight));
            }
            List<Param> weights = viaL2.subList(0, 2);
            for (int step = 1; step <= 4; step++) {
                for (int i = 0; i < SHAPES.length; i++) {
                    try (Tensor g = Tensor.randn(rng, 0.1f, SHAPES[i])) {
                        decayed.get(i).grad().copyFrom(g);
                        viaL2.get(i).grad().copyFrom(g);
                    }
                }
                float[] gradBefore = decayed.get(0).grad().toArray();
                L2Penalty.apply(weights, REG); // the model's path: g += reg * w on the weights
                if (oneAtATime) {
                    for (Param p : decayed) withDecay.step(p);
                    for (Param p : viaL2) plain.step(p);
                } else {
                    withDecay.step(decayed);
                    plain.step(viaL2);
                }
                assertArrayEquals(gradBefore, decayed.get(0).grad().toArray(), 0f, rule + ": the gradient is not changed");
                for (int i = 0; i < SHAPES.length; i++) {
                    String what = rule + " (" + how + "), step " + step + ", " + decayed.get(i).name();
                    assertArrayEquals(viaL2.get(i).value().toArray(), decayed.get(i).value().toArray(), 0f, what);
                    for (String slot : plain.slotNames()) {
                        assertArrayEquals(plain.slot(viaL2.get(i), slot).toArray(), withDecay.slot(decayed.get(i), slot).toArray(), 0f,
                                what + " " + slot);
                    }
                }
            }
        } finally {
            for (Param p : decayed) p.close();
            for (Param p : viaL2) p.close();
        }
    }

    @Test
    void decayChangesTheWeightsAndNotTheBias() {
        try (Optimizer decay = new Sgd(0.1, 0.5); Optimizer none = new Sgd(0.1);
             Param w = new Param("W", Tensor.full(2f, 3), true); Param b = new Param("b", Tensor.full(2f, 3), false);
             Param w0 = new Param("W", Tensor.full(2f, 3), true); Param b0 = new Param("b", Tensor.full(2f, 3), false)) {
            decay.step(List.of(w, b));
            none.step(List.of(w0, b0));
            // zero gradient: w - 0.1 * (0 + 0.5 * 2) = 1.9; the bias stays
            assertArrayEquals(new float[] {1.9f, 1.9f, 1.9f}, w.value().toArray(), 1e-7f);
            assertArrayEquals(b0.value().toArray(), b.value().toArray(), 0f);
            assertArrayEquals(new float[] {2f, 2f, 2f}, w0.value().toArray(), 0f);
        }
    }

    @Test
    void theFactoryTakesWeightDecayForTheFiveRulesAndChecksIt() {
        for (String rule : RULES) {
            try (Optimizer o = Optimizers.create(rule, Map.of("weight_decay", 1e-3))) {
                assertEquals(1e-3, o.l2WeightDecay(), 1e-9, rule);
                assertEquals(1e-3, o.hyperparameters().get("weight_decay"), 1e-9, rule);
                assertTrue(o.toString().contains("weight_decay="), o.toString());
            }
            try (Optimizer o = Optimizers.create(rule, Map.of())) {
                assertEquals(0, o.l2WeightDecay(), rule);
                assertFalse(o.hyperparameters().containsKey("weight_decay"), rule + ": no entry without decay");
            }
            for (double bad : new double[] {-1e-3, Double.NaN, Double.POSITIVE_INFINITY}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Optimizers.create(rule, Map.of("weight_decay", bad)));
                assertTrue(e.getMessage().contains(rule + ": weight_decay must be a finite number >= 0"), e.getMessage());
            }
        }
        // the decoupled rules keep their own weight_decay
        try (Optimizer o = Optimizers.create("adamw", Map.of("weight_decay", 1e-3))) {
            assertEquals(0, o.l2WeightDecay());
            assertEquals(1e-3, o.hyperparameters().get("weight_decay"), 1e-9);
        }
    }
}
