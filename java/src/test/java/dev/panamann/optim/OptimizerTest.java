package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each rule against its update formula evaluated in double precision on the cs231n test inputs
 * (N, D = 4, 5; w, dw and the state from linspace), for several steps.
 */
class OptimizerTest {
    static final int N = 4, D = 5, STEPS = 4;

    static double[] linspace(double lo, double hi, int n) {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) r[i] = lo + (hi - lo) * i / (n - 1);
        return r;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Gradient of step k: the cs231n dw, scaled and shifted per step so that steps differ. */
    static double[] grad(int k) {
        double[] g = linspace(-0.6, 0.4, N * D);
        for (int i = 0; i < g.length; i++) g[i] = g[i] * (1 + 0.5 * k) - 0.05 * k;
        return g;
    }

    static Param param(double[] w) {
        return new Param("W", Tensor.of(toFloat(w), N, D), true);
    }

    /** Sets the initial state of {@code p} through loadStateDict, as a checkpoint would. */
    static void setState(Optimizer opt, Param p, long t, Map<String, double[]> slots) {
        List<Tensor> tensors = new ArrayList<>();
        for (String slot : opt.slotNames()) tensors.add(Tensor.of(toFloat(slots.get(slot)), N, D));
        opt.loadStateDict(List.of(p), new Optimizer.StateDict(opt.rule(), opt.learningRate(), opt.slotNames(),
                List.of(new Optimizer.ParamState("W", t, tensors))));
        tensors.forEach(Tensor::close);
    }

    /** Runs STEPS steps; before each, the gradient is grad(k) rounded to float like the optimizer sees it. */
    static void run(Optimizer opt, Param p, Reference ref) {
        for (int k = 0; k < STEPS; k++) {
            float[] g = toFloat(grad(k));
            p.grad().copyFrom(g);
            opt.step(List.of(p));
            ref.step(toDouble(g));
            double[] expected = ref.w();
            float[] got = p.value().toArray();
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-6 + 1e-5 * Math.abs(expected[i]),
                        opt.rule() + " step " + (k + 1) + " w[" + i + "]");
            }
        }
    }

    interface Reference {
        void step(double[] dw);

        double[] w();
    }

    @Test
    void sgd() {
        double lr = 1e-2;
        double[] w = linspace(-0.4, 0.6, N * D);
        try (Optimizer opt = new Sgd(lr); Param p = param(w)) {
            run(opt, p, new Reference() {
                public void step(double[] dw) { for (int i = 0; i < w.length; i++) w[i] -= lr * dw[i]; }
                public double[] w() { return w; }
            });
        }
    }

    @Test
    void sgdMomentum() {
        double lr = 1e-3, mu = 0.9;
        double[] w = linspace(-0.4, 0.6, N * D), v = linspace(0.6, 0.9, N * D);
        try (Optimizer opt = new SgdMomentum(lr, mu); Param p = param(w)) {
            setState(opt, p, 0, Map.of("velocity", v));
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    for (int i = 0; i < w.length; i++) {
                        v[i] = mu * v[i] - lr * dw[i];
                        w[i] += v[i];
                    }
                }
                public double[] w() { return w; }
            });
            double[] vGot = toDouble(opt.slot(p, "velocity").toArray());
            for (int i = 0; i < v.length; i++) assertEquals(v[i], vGot[i], 1e-6, "velocity[" + i + "]");
        }
    }

    @Test
    void nesterov() {
        double lr = 1e-3, mu = 0.9;
        double[] w = linspace(-0.4, 0.6, N * D), v = linspace(0.6, 0.9, N * D);
        try (Optimizer opt = new Nesterov(lr, mu); Param p = param(w)) {
            setState(opt, p, 0, Map.of("velocity", v));
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    for (int i = 0; i < w.length; i++) {
                        double vPrev = v[i];
                        v[i] = mu * v[i] - lr * dw[i];
                        w[i] += -mu * vPrev + (1 + mu) * v[i];
                    }
                }
                public double[] w() { return w; }
            });
        }
    }

    @Test
    void nesterovDiffersFromPlainMomentum() {
        double[] w = linspace(-0.4, 0.6, N * D);
        try (Optimizer a = new Nesterov(1e-2, 0.9); Optimizer b = new SgdMomentum(1e-2, 0.9);
             Param pa = param(w); Param pb = param(w)) {
            for (int k = 0; k < 2; k++) {
                pa.grad().copyFrom(toFloat(grad(k)));
                pb.grad().copyFrom(toFloat(grad(k)));
                a.step(pa);
                b.step(pb);
            }
            assertTrue(Math.abs(pa.value().getFlat(0) - pb.value().getFlat(0)) > 1e-4, "the two rules must differ");
        }
    }

    @Test
    void rmsprop() {
        rmsprop(new RmsProp(1e-2, 0.99, 1e-8), linspace(0.6, 0.9, N * D));
    }

    /** The defaults are lr 1e-2, decay 0.99, eps 1e-8, and the cache starts at zero. */
    @Test
    void rmspropFromZeroState() {
        rmsprop(new RmsProp(), null);
    }

    /** Steps {@code rule} against the formulas (lr 1e-2, decay 0.99, eps 1e-8); a null cache means the rule's own initial state, zeros. */
    void rmsprop(Optimizer rule, double[] initialCache) {
        double lr = 1e-2, decay = 0.99, eps = 1e-8;
        double[] w = linspace(-0.4, 0.6, N * D), cache = initialCache == null ? new double[N * D] : initialCache;
        try (Optimizer opt = rule; Param p = param(w)) {
            if (initialCache != null) setState(opt, p, 0, Map.of("cache", cache));
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    for (int i = 0; i < w.length; i++) {
                        cache[i] = decay * cache[i] + (1 - decay) * dw[i] * dw[i];
                        w[i] -= lr * dw[i] / (Math.sqrt(cache[i]) + eps);
                    }
                }
                public double[] w() { return w; }
            });
        }
    }

    /** cs231n's adam test starts from t = 5 with m, v from linspace. */
    @Test
    void adamFromCs231nState() {
        adam(linspace(0.6, 0.9, N * D), linspace(0.7, 0.5, N * D), 5);
    }

    /** From zero state the first step (t = 1) moves each weight by about lr * sign(dw). */
    @Test
    void adamFromZeroState() {
        adam(new double[N * D], new double[N * D], 0);
    }

    void adam(double[] m, double[] v, int t0) {
        double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double[] w = linspace(-0.4, 0.6, N * D);
        try (Optimizer opt = new Adam(lr, b1, b2, eps); Param p = param(w)) {
            if (t0 > 0) setState(opt, p, t0, Map.of("m", m, "v", v));
            int[] t = {t0};
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    t[0]++;
                    for (int i = 0; i < w.length; i++) {
                        m[i] = b1 * m[i] + (1 - b1) * dw[i];
                        double mt = m[i] / (1 - Math.pow(b1, t[0]));
                        v[i] = b2 * v[i] + (1 - b2) * dw[i] * dw[i];
                        double vt = v[i] / (1 - Math.pow(b2, t[0]));
                        w[i] -= lr * mt / (Math.sqrt(vt) + eps);
                    }
                }
                public double[] w() { return w; }
            });
            assertEquals(t0 + STEPS, opt.steps(p), "t counts steps");
        }
    }

    @Test
    void factoryKnowsEveryRuleWithCs231nDefaults() {
        Optimizer o;
        assertInstanceOf(Sgd.class, o = Optimizers.create("sgd", null));
        assertEquals(1e-2, o.learningRate());
        assertInstanceOf(SgdMomentum.class, o = Optimizers.create("sgd_momentum", Map.of()));
        assertEquals(0.9, o.hyperparameters().get("momentum"), 1e-7);
        assertInstanceOf(Nesterov.class, o = Optimizers.create("nesterov", Map.of("momentum", 0.5)));
        assertEquals(0.5, o.hyperparameters().get("momentum"), 1e-7);
        assertInstanceOf(RmsProp.class, o = Optimizers.create("RMSProp", Map.of("learning_rate", 3e-4)));
        assertEquals(3e-4, o.learningRate());
        assertEquals(0.99, o.hyperparameters().get("decay_rate"), 1e-7);
        assertEquals(1e-8, o.hyperparameters().get("epsilon"), 1e-12);
        assertInstanceOf(Adam.class, o = Optimizers.create("adam", Map.of("lr", 5e-4)));
        assertEquals(5e-4, o.learningRate());
        assertEquals(0.999, o.hyperparameters().get("beta2"));
        assertEquals(1e-3, Optimizers.create("adam", null).learningRate());
        assertInstanceOf(SgdNesterov.class, o = Optimizers.create("sgd_nesterov", Map.of("weight_decay", 1e-3)));
        assertEquals(1e-3, o.hyperparameters().get("weight_decay"));
        assertEquals(0.9, o.hyperparameters().get("momentum"), 1e-7);
        assertEquals(SgdNesterov.DEFAULT_WEIGHT_DECAY, Optimizers.create("sgd_nesterov", null).hyperparameters().get("weight_decay"));
        assertInstanceOf(AdamW.class, o = Optimizers.create("adamw", Map.of("lr", 2e-3)));
        assertEquals(2e-3, o.learningRate());
        assertEquals(AdamW.DEFAULT_WEIGHT_DECAY, o.hyperparameters().get("weight_decay"));
    }

    @Test
    void badConfigsAreRejectedWithClearMessages() {
        assertMessage(() -> Optimizers.create("adagrad", null), "unknown update rule 'adagrad'", "sgd_momentum");
        assertMessage(() -> Optimizers.create("sgd", Map.of("learning_rate", -1)), "learning rate", "-1");
        assertMessage(() -> Optimizers.create("sgd", Map.of("learning_rate", 0)), "learning rate", "> 0");
        assertMessage(() -> Optimizers.create("adam", Map.of("beta1", 1.0)), "beta1", "[0, 1)");
        assertMessage(() -> Optimizers.create("adam", Map.of("beta2", -0.1)), "beta2");
        assertMessage(() -> Optimizers.create("adam", Map.of("epsilon", 0)), "epsilon");
        assertMessage(() -> Optimizers.create("sgd_momentum", Map.of("momentum", 1.5)), "momentum");
        assertMessage(() -> Optimizers.create("rmsprop", Map.of("decay", 0.9)), "unknown optim config key 'decay'",
                "decay_rate");
        assertMessage(() -> Optimizers.create("sgd", Map.of("momentum", 0.9)), "'momentum'", "sgd");
        assertMessage(() -> new Sgd().setLearningRate(Double.NaN), "learning rate");
        assertMessage(() -> Optimizers.create("adamw", Map.of("weight_decay", -0.1)), "weight_decay", "[0, 1)");
        assertMessage(() -> Optimizers.create("sgd_nesterov", Map.of("weight_decay", Double.NaN)), "weight_decay");
        assertMessage(() -> Optimizers.create("adam", Map.of("weight_decay", -0.01)), "adam: weight_decay", ">= 0");
        assertMessage(() -> Optimizers.create("sgd", Map.of("decay", 0.01)), "'decay'", "learning_rate, weight_decay");
    }

    static void assertMessage(Runnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String part : parts) assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks " + part);
    }

    @Test
    void learningRateChangeTakesEffect() {
        try (Sgd opt = new Sgd(1.0); Param p = new Param("W", Tensor.of(new float[] {1f}, 1), true)) {
            p.grad().fill(1f);
            opt.step(p);
            assertEquals(0f, p.value().getFlat(0));
            opt.setLearningRate(0.25);
            opt.step(p);
            assertEquals(-0.25f, p.value().getFlat(0));
        }
    }

    /** stateDict, loadStateDict into a fresh optimizer, continue: bit-identical to never stopping. */
    @Test
    void stateDictRoundTripContinuesBitIdentically() {
        for (String rule : Optimizers.RULES) {
            double[] w0 = linspace(-0.4, 0.6, N * D);
            try (Optimizer a = Optimizers.create(rule, null); Param pa = param(w0); Param pb = param(w0)) {
                for (int k = 0; k < 2; k++) {
                    pa.grad().copyFrom(toFloat(grad(k)));
                    a.step(pa);
                }
                pb.value().copyFrom(pa.value());
                a.setLearningRate(a.learningRate() * 0.5);
                Optimizer.StateDict s = a.stateDict();
                assertEquals(1, s.params().size());
                assertEquals(2, s.params().get(0).steps());
                try (Optimizer b = Optimizers.create(rule, null)) {
                    b.loadStateDict(List.of(pb), s);
                    assertEquals(a.learningRate(), b.learningRate(), rule);
                    assertEquals(2, b.steps(pb), rule);
                    for (int k = 2; k < 5; k++) {
                        pa.grad().copyFrom(toFloat(grad(k)));
                        pb.grad().copyFrom(toFloat(grad(k)));
                        a.step(pa);
                        b.step(pb);
                    }
                    assertArrayEquals(pa.value().toArray(), pb.value().toArray(), rule);
                }
            }
        }
    }

    @Test
    void loadStateDictRejectsMismatchesAndLeavesStateUnchanged() {
        try (Adam adam = new Adam(); Param p = param(linspace(0, 1, N * D));
             Param other = new Param("W", Tensor.zeros(3, 3), true)) {
            p.grad().fill(0.5f);
            adam.step(p);
            Optimizer.StateDict good = adam.stateDict();
            float[] m0 = adam.firstMoment(p).toArray();
            try (Optimizer momentum = new SgdMomentum()) {
                assertMessage(() -> momentum.loadStateDict(List.of(p), good), "'adam'", "'sgd_momentum'");
            }
            try (Optimizer fresh = new Adam()) {
                assertMessage(() -> fresh.loadStateDict(List.of(other), good), "W/m", "[4, 5]", "[3, 3]");
                assertEquals(null, fresh.slot(other, "m"), "a failed load allocates no state");
            }
            Optimizer.ParamState w = good.params().get(0);
            assertMessage(() -> adam.loadStateDict(List.of(p), new Optimizer.StateDict("adam", 1e-3, good.slotNames(),
                    List.of(new Optimizer.ParamState("W", 1, List.of(w.slots().get(0)))))), "1 slot tensors", "[m, v]");
            assertMessage(() -> adam.loadStateDict(List.of(p), new Optimizer.StateDict("adam", 1e-3, good.slotNames(),
                    List.of(w, new Optimizer.ParamState("V", 1, w.slots())))), "'V'", "no param");
            assertMessage(() -> adam.loadStateDict(List.of(p), new Optimizer.StateDict("adam", 1e-3, good.slotNames(), List.of())),
                    "missing the state of param");
            assertMessage(() -> adam.loadStateDict(List.of(p), new Optimizer.StateDict("adam", -1, good.slotNames(), List.of(w))),
                    "learning_rate");
            assertMessage(() -> new Optimizer.ParamState("W", -1, w.slots()), "negative step count");
            assertArrayEquals(m0, adam.firstMoment(p).toArray());
            assertEquals(1, adam.steps(p));
        }
    }

    /**
     * Nesterov momentum with decoupled weight decay: the decayed weight against the formula
     * in double; a bias (not regularized) steps as plain {@link Nesterov}, to the bit.
     */
    @Test
    void sgdNesterovWithDecoupledWeightDecay() {
        double lr = 1e-2, mu = 0.9, wd = 0.05;
        double[] w = linspace(-0.4, 0.6, N * D), v = linspace(0.6, 0.9, N * D);
        try (Optimizer opt = new SgdNesterov(lr, mu, wd); Param p = param(w)) {
            setState(opt, p, 0, Map.of("velocity", v));
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    for (int i = 0; i < w.length; i++) {
                        double vPrev = v[i];
                        v[i] = mu * v[i] - lr * dw[i];
                        w[i] += -lr * wd * w[i] - mu * vPrev + (1 + mu) * v[i];
                    }
                }
                public double[] w() { return w; }
            });
        }
        assertBiasNotDecayed(new SgdNesterov(lr, mu, wd), new Nesterov(lr, mu));
    }

    /** AdamW: Adam's step plus lr * weight_decay * w for the weights, against the formula in double. */
    @Test
    void adamWWithDecoupledWeightDecay() {
        double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        double[] w = linspace(-0.4, 0.6, N * D), m = linspace(0.6, 0.9, N * D), v = linspace(0.7, 0.5, N * D);
        int t0 = 5;
        try (Optimizer opt = new AdamW(lr, b1, b2, eps, wd); Param p = param(w)) {
            setState(opt, p, t0, Map.of("m", m, "v", v));
            int[] t = {t0};
            run(opt, p, new Reference() {
                public void step(double[] dw) {
                    t[0]++;
                    for (int i = 0; i < w.length; i++) {
                        m[i] = b1 * m[i] + (1 - b1) * dw[i];
                        double mt = m[i] / (1 - Math.pow(b1, t[0]));
                        v[i] = b2 * v[i] + (1 - b2) * dw[i] * dw[i];
                        double vt = v[i] / (1 - Math.pow(b2, t[0]));
                        w[i] -= lr * wd * w[i] + lr * mt / (Math.sqrt(vt) + eps);
                    }
                }
                public double[] w() { return w; }
            });
            assertEquals(t0 + STEPS, opt.steps(p));
        }
        assertBiasNotDecayed(new AdamW(lr, b1, b2, eps, wd), new Adam(lr, b1, b2, eps));
    }

    /** A param with regularized == false takes exactly the undecayed rule's steps. */
    static void assertBiasNotDecayed(Optimizer decoupled, Optimizer plain) {
        try (decoupled; plain;
             Param a = new Param("b", Tensor.of(toFloat(linspace(-0.4, 0.6, N * D)), N, D), false);
             Param b = new Param("b", Tensor.of(toFloat(linspace(-0.4, 0.6, N * D)), N, D), false)) {
            for (int k = 0; k < STEPS; k++) {
                a.grad().copyFrom(toFloat(grad(k)));
                b.grad().copyFrom(toFloat(grad(k)));
                decoupled.step(List.of(a));
                plain.step(List.of(b));
            }
            assertArrayEquals(b.value().toArray(), a.value().toArray(), decoupled.rule() + " must not decay a bias");
        }
    }

    /** With a zero gradient and zero state, a decoupled rule only shrinks the weights: w * (1 - lr * wd) per step. */
    @Test
    void decoupledDecayAloneShrinksWeightsGeometrically() {
        for (Optimizer opt : new Optimizer[] {new SgdNesterov(0.1, 0.9, 0.5), new AdamW(0.1, 0.9, 0.999, 1e-8, 0.5)}) {
            try (opt; Param p = new Param("W", Tensor.full(2f, 3), true)) {
                opt.step(List.of(p));
                opt.step(List.of(p));
                for (float x : p.value().toArray()) assertEquals(2 * 0.95 * 0.95, x, 1e-6, opt.rule());
            }
        }
    }

    /** The typed accessors read the state the update formula wrote, and writing them sets it. */
    @Test
    void typedStateIsReadableAndSettable() {
        float g = 0.5f;
        try (Adam adam = new Adam(1e-3, 0.9, 0.999, 1e-8); Param p = param(linspace(0, 1, N * D))) {
            assertEquals(0, adam.steps(p));
            assertArrayEquals(new float[N * D], adam.firstMoment(p).toArray(), "zeros before the first step");
            p.grad().fill(g);
            adam.step(p);
            for (float m : adam.firstMoment(p).toArray()) assertEquals((float) (0.1 * g), m, 1e-7f);
            for (float v : adam.secondMoment(p).toArray()) assertEquals((float) (0.001 * g * g), v, 1e-9f);
            assertEquals(1, adam.steps(p));
            adam.setSteps(p, 10);
            assertEquals(10, adam.steps(p));
            assertMessage(() -> adam.setSteps(p, -1), "step count must be >= 0");
        }
        double lr = 0.1, mu = 0.9;
        try (SgdMomentum opt = new SgdMomentum(lr, mu); Param p = param(linspace(0, 1, N * D))) {
            opt.velocity(p).fill(2f); // set the velocity, then one step: v = mu * 2 - lr * g, w += v
            float w0 = p.value().getFlat(3);
            p.grad().fill(g);
            opt.step(p);
            float v = (float) (mu * 2 - lr * g);
            assertEquals(v, opt.velocity(p).getFlat(3), 1e-6f);
            assertEquals(w0 + v, p.value().getFlat(3), 1e-6f);
        }
        try (RmsProp opt = new RmsProp(); Param p = param(linspace(0, 1, N * D))) {
            p.grad().fill(g);
            opt.step(p);
            assertEquals((float) (0.01 * g * g), opt.cache(p).getFlat(0), 1e-8f);
        }
    }

    @Test
    void twoParamsWithTheSameNameAreRejected() {
        try (Optimizer opt = new Adam(); Param a = new Param("W", Tensor.zeros(2), true);
             Param b = new Param("W", Tensor.zeros(2), true)) {
            assertMessage(() -> opt.prepare(List.of(a, b)), "'W'");
        }
    }

    /** After prepare, steps allocate nothing (not even on the heap, once the JIT has warmed up). */
    @Test
    @Tag("allocation") // depends on escape analysis: not in the unit suite, see pom.xml
    void preparedStepsDoNotAllocate() {
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (String rule : Optimizers.RULES) {
            try (Optimizer opt = Optimizers.create(rule, Map.of("learning_rate", 1e-6));
                 Param a = new Param("W", Tensor.full(0.5f, 64, 64), true);
                 Param b = new Param("b", Tensor.full(0.5f, 64), false)) {
                a.grad().fill(0.1f);
                b.grad().fill(0.1f);
                List<Param> ps = List.of(a, b);
                opt.prepare(ps);
                for (int i = 0; i < 2000; i++) opt.step(ps);
                long before = bean.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 1000; i++) opt.step(ps);
                long allocated = bean.getCurrentThreadAllocatedBytes() - before;
                assertTrue(allocated < 16 * 1024, rule + ": 1000 steps allocated " + allocated + " heap bytes");
            }
        }
    }
}
