package dev.panamann.optim;

import java.util.Locale;

/**
 * A learning-rate schedule by epoch: the rate for the epoch that follows {@code epoch}
 * completed epochs, given the initial rate. The {@code Solver} sets the optimizer's rate from
 * it at the end of every epoch; a schedule holds no state, so a resumed run gets the rates of
 * an uninterrupted one.
 *
 * <ul>
 *   <li>{@link #constant()}: the initial rate throughout.</li>
 *   <li>{@link #exponential(double) exponential(gamma)}: {@code initial * gamma^epoch}, the
 *       cs231n {@code lr_decay} (the Solver's default when a decay is given).</li>
 *   <li>{@link #step(int, double) step(every, gamma)}: {@code initial * gamma^floor(epoch / every)}.</li>
 *   <li>{@link #cosine(double) cosine(min)}: {@code min + (initial - min) * (1 + cos(pi * epoch / numEpochs)) / 2}.</li>
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
            double r = minRate + (initial - minRate) * (1 + Math.cos(Math.PI * progress)) / 2;
            return r > 0 ? r : Double.MIN_NORMAL; // normal: see decayed
        }

        @Override
        public String describe() { return String.format(Locale.ROOT, "cosine(min=%s)", minRate); }
    }
}
