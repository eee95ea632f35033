package dev.panamann.optim;

import java.util.Locale;

/**
 * A learning-rate schedule by epoch: the rate for the epoch that follows {@code epoch}
 * completed epochs, given the initial rate. The {@code Solver} sets the optimizer's rate from
 * it at the end of every epoch; a schedule holds no state, so a resumed run gets the rates of
 * an uninterrupted one.
 *
 * <p>Schedules that are {@link #perIteration()} ({@link #warmupCosine}, {@link #oneCycle})
 * change the rate before every step instead, from {@link #rateAt}; their per-epoch
 * {@link #rate} is the same curve with one step per epoch.
 *
 * <ul>
 *   <li>{@link #constant()}: the initial rate throughout.</li>
 *   <li>{@link #exponential(double) exponential(gamma)}: {@code initial * gamma^epoch}, the
 *       cs231n {@code lr_decay} (the Solver's default when a decay is given).</li>
 *   <li>{@link #step(int, double) step(every, gamma)}: {@code initial * gamma^floor(epoch / every)}.</li>
 *   <li>{@link #cosine(double) cosine(min)}: {@code min + (initial - min) * (1 + cos(pi * epoch / numEpochs)) / 2}.</li>
 *   <li>{@link #warmupCosine(double, double) warmupCosine(warmupEpochs, min)}, per iteration:
 *       a linear warm-up from {@code initial / W} to {@code initial} over the first
 *       {@code W = warmupEpochs * iterationsPerEpoch} steps, then cosine annealing to
 *       {@code min} at the end of the run.</li>
 *   <li>{@link #oneCycle(double, double, double) oneCycle(pctStart, divFactor, finalDivFactor)}, per
 *       iteration: the one-cycle policy (Smith; PyTorch's {@code OneCycleLR} with cosine
 *       annealing) with {@code initial} as the peak: from {@code initial / divFactor} up to
 *       {@code initial} over the first {@code pctStart} of the steps, then down to
 *       {@code initial / divFactor / finalDivFactor} at the last step, both halves cosine.</li>
 * </ul>
 * Powers are multiplied out factor by factor in double, so that {@code exponential(gamma)}
 * gives exactly the rates of multiplying the rate by {@code gamma} once per epoch.
 */
public sealed interface LrSchedule {

    /**
     * The learning rate after {@code epoch} completed epochs.
     *
     * @param initial   the rate of the first epoch, &gt; 0
     * @param epoch     epochs completed, &gt;= 0
     * @param numEpochs epochs of the whole run, &gt;= 1 (used by {@link #cosine})
     * @return the rate, finite and &gt; 0
     */
    double rate(double initial, int epoch, int numEpochs);

    /** One line describing the schedule, stored in checkpoints to reject a changed schedule. */
    String describe();

    /**
     * Whether the rate changes before every step ({@link #rateAt}) rather than at the end of
     * every epoch ({@link #rate}). False by default.
     */
    default boolean perIteration() { return false; }

    /**
     * The learning rate of step {@code iteration} (0 for the first step of the run). By
     * default the rate of the epoch that step belongs to, {@code rate(initial, iteration /
     * iterationsPerEpoch, numEpochs)}.
     *
     * @param initial            the rate the schedule starts from (the peak for one-cycle), &gt; 0
     * @param iteration          steps taken before this one, &gt;= 0
     * @param iterationsPerEpoch steps per epoch, &gt;= 1
     * @param numEpochs          epochs of the whole run, &gt;= 1
     * @return the rate, finite and &gt; 0
     */
    default double rateAt(double initial, long iteration, int iterationsPerEpoch, int numEpochs) {
        if (iterationsPerEpoch < 1) throw new IllegalArgumentException("iterationsPerEpoch must be >= 1, got " + iterationsPerEpoch);
        if (iteration < 0) throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
        return rate(initial, (int) Math.min(Integer.MAX_VALUE, iteration / iterationsPerEpoch), numEpochs);
    }

    /** The initial rate throughout. */
    static LrSchedule constant() { return Constant.INSTANCE; }

    /**
     * The rate multiplied by {@code gamma} after every epoch; {@code gamma = 1} is
     * {@link #constant()}.
     *
     * @param gamma factor per epoch, finite and &gt; 0
     */
    static LrSchedule exponential(double gamma) {
        Optimizer.positive("exponential schedule", "gamma", gamma);
        return gamma == 1.0 ? constant() : new Exponential(gamma);
    }

    /**
     * The rate multiplied by {@code gamma} after every {@code every} epochs.
     *
     * @param every epochs between two decays, &gt;= 1
     * @param gamma factor per decay, finite and &gt; 0
     */
    static LrSchedule step(int every, double gamma) {
        if (every < 1) throw new IllegalArgumentException("step schedule: every must be >= 1 epoch, got " + every);
        Optimizer.positive("step schedule", "gamma", gamma);
        return new Step(every, gamma);
    }

    /**
     * Cosine annealing from the initial rate down to {@code minRate} at the last epoch.
     *
     * @param minRate the rate the curve ends at, finite and &gt;= 0 (a rate of 0 is kept at
     *                the smallest positive double, as optimizers need a rate &gt; 0)
     */
    static LrSchedule cosine(double minRate) {
        if (!(minRate >= 0) || !Double.isFinite(minRate)) {
            throw new IllegalArgumentException("cosine schedule: minRate must be a finite number >= 0, got " + minRate);
        }
        return new Cosine(minRate);
    }

    /**
     * Linear warm-up, then cosine annealing, changed before every step: step {@code t} of
     * {@code T = numEpochs * iterationsPerEpoch} has rate {@code initial * (t + 1) / W} while
     * {@code t < W = round(warmupEpochs * iterationsPerEpoch)}, then
     * {@code min + (initial - min) * (1 + cos(pi * (t - W) / (T - W))) / 2}.
     *
     * @param warmupEpochs length of the warm-up in epochs (fractions allowed), finite and &gt;= 0
     * @param minRate      the rate the curve approaches at the end, finite and &gt;= 0
     */
    static LrSchedule warmupCosine(double warmupEpochs, double minRate) {
        if (!(warmupEpochs >= 0) || !Double.isFinite(warmupEpochs)) {
            throw new IllegalArgumentException("cosine schedule: warm-up epochs must be a finite number >= 0, got " + warmupEpochs);
        }
        if (!(minRate >= 0) || !Double.isFinite(minRate)) {
            throw new IllegalArgumentException("cosine schedule: minRate must be a finite number >= 0, got " + minRate);
        }
        return new WarmupCosine(warmupEpochs, minRate);
    }

    /** {@link #oneCycle(double, double, double)} with PyTorch's defaults: pctStart 0.3, divFactor 25, finalDivFactor 1e4. */
    static LrSchedule oneCycle() { return oneCycle(0.3, 25, 1e4); }

    /**
     * The one-cycle policy, changed before every step: with {@code T} steps in the run and
     * {@code U = pctStart * T}, the rate rises from {@code initial / divFactor} to
     * {@code initial} over steps {@code 0 .. U} and falls to
     * {@code initial / (divFactor * finalDivFactor)} at step {@code T - 1}, both halves along a
     * cosine.
     *
     * @param pctStart       fraction of the steps spent rising, in (0, 1)
     * @param divFactor      initial rate = peak / divFactor, finite and &gt;= 1
     * @param finalDivFactor final rate = initial rate / finalDivFactor, finite and &gt;= 1
     */
    static LrSchedule oneCycle(double pctStart, double divFactor, double finalDivFactor) {
        if (!(pctStart > 0 && pctStart < 1)) {
            throw new IllegalArgumentException("one-cycle schedule: pctStart must be in (0, 1), got " + pctStart);
        }
        if (!(divFactor >= 1) || !Double.isFinite(divFactor)) {
            throw new IllegalArgumentException("one-cycle schedule: divFactor must be a finite number >= 1, got " + divFactor);
        }
        if (!(finalDivFactor >= 1) || !Double.isFinite(finalDivFactor)) {
            throw new IllegalArgumentException("one-cycle schedule: finalDivFactor must be a finite number >= 1, got " + finalDivFactor);
        }
        return new OneCycle(pctStart, divFactor, finalDivFactor);
    }

    private static void checkStep(double initial, long iteration, int iterationsPerEpoch, int numEpochs) {
        check(initial, 0, numEpochs);
        if (iterationsPerEpoch < 1) throw new IllegalArgumentException("iterationsPerEpoch must be >= 1, got " + iterationsPerEpoch);
        if (iteration < 0) throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
    }

    /** {@code from} at p = 0 to {@code to} at p = 1 along half a cosine. */
    private static double cosineBetween(double from, double to, double p) {
        return to + (from - to) * (1 + Math.cos(Math.PI * p)) / 2;
    }

    private static void check(double initial, int epoch, int numEpochs) {
        if (!(initial > 0) || !Double.isFinite(initial)) {
            throw new IllegalArgumentException("initial learning rate must be a finite number > 0, got " + initial);
        }
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        if (numEpochs < 1) throw new IllegalArgumentException("numEpochs must be >= 1, got " + numEpochs);
    }

    /** {@code base * gamma^k}, multiplied out factor by factor (the bits of decaying k times). */
    private static double decayed(double base, double gamma, int k) {
        double r = base;
        for (int i = 0; i < k; i++) r *= gamma;
        // the floor is the smallest normal double: a subnormal one reads as 0 on threads that
        // flush subnormals to zero (ops.Denormals, the backends' default)
        return r > 0 ? r : Double.MIN_NORMAL;
    }

    /** See {@link #constant()}. */
    enum Constant implements LrSchedule {
        INSTANCE;

        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            check(initial, epoch, numEpochs);
            return initial;
        }

        @Override
        public String describe() { return "constant"; }
    }

    /** See {@link #exponential(double)}. */
    record Exponential(double gamma) implements LrSchedule {
        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            check(initial, epoch, numEpochs);
            return decayed(initial, gamma, epoch);
        }

        @Override
        public String describe() { return "exponential(gamma=" + gamma + ")"; }
    }

    /** See {@link #step(int, double)}. */
    record Step(int every, double gamma) implements LrSchedule {
        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            check(initial, epoch, numEpochs);
            return decayed(initial, gamma, epoch / every);
        }

        @Override
        public String describe() { return "step(every=" + every + ", gamma=" + gamma + ")"; }
    }

    /** See {@link #cosine(double)}. */
    record Cosine(double minRate) implements LrSchedule {
        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            check(initial, epoch, numEpochs);
            double progress = Math.min(epoch, numEpochs) / (double) numEpochs;
            double r = cosineBetween(initial, minRate, progress);
            return r > 0 ? r : Double.MIN_NORMAL; // normal: see decayed
        }

        @Override
        public String describe() { return String.format(Locale.ROOT, "cosine(min=%s)", minRate); }
    }

    /** See {@link #warmupCosine(double, double)}. */
    record WarmupCosine(double warmupEpochs, double minRate) implements LrSchedule {
        @Override
        public boolean perIteration() { return true; }

        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            return rateAt(initial, epoch, 1, numEpochs);
        }

        @Override
        public double rateAt(double initial, long iteration, int iterationsPerEpoch, int numEpochs) {
            checkStep(initial, iteration, iterationsPerEpoch, numEpochs);
            long total = (long) numEpochs * iterationsPerEpoch;
            long warm = Math.min(Math.round(warmupEpochs * iterationsPerEpoch), total);
            double r;
            if (iteration < warm) r = initial * (iteration + 1) / warm;
            else r = cosineBetween(initial, minRate, total > warm ? Math.min(1.0, (iteration - warm) / (double) (total - warm)) : 1.0);
            return r > 0 ? r : Double.MIN_NORMAL; // normal: see decayed
        }

        @Override
        public String describe() { return String.format(Locale.ROOT, "warmup_cosine(warmup_epochs=%s, min=%s)", warmupEpochs, minRate); }
    }

    /** See {@link #oneCycle(double, double, double)}. */
    record OneCycle(double pctStart, double divFactor, double finalDivFactor) implements LrSchedule {
        @Override
        public boolean perIteration() { return true; }

        @Override
        public double rate(double initial, int epoch, int numEpochs) {
            return rateAt(initial, epoch, 1, numEpochs);
        }

        @Override
        public double rateAt(double initial, long iteration, int iterationsPerEpoch, int numEpochs) {
            checkStep(initial, iteration, iterationsPerEpoch, numEpochs);
            long total = (long) numEpochs * iterationsPerEpoch;
            double start = initial / divFactor, end = start / finalDivFactor;
            double up = pctStart * total - 1, last = total - 1;
            double t = Math.min(iteration, last);
            double r;
            if (t <= up) r = cosineBetween(start, initial, up > 0 ? t / up : 1.0);
            else r = cosineBetween(initial, end, last > up ? (t - up) / (last - up) : 1.0);
            return r > 0 ? r : Double.MIN_NORMAL; // normal: see decayed
        }

        @Override
        public String describe() {
            return String.format(Locale.ROOT, "one_cycle(pct_start=%s, div_factor=%s, final_div_factor=%s)", pctStart, divFactor,
                    finalDivFactor);
        }
    }
}
