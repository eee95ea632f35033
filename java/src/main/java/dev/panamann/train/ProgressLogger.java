package dev.panamann.train;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Prints a {@link Solver}'s progress: on a terminal a progress bar (epoch, step, loss,
 * images/s, ETA) redrawn in place; otherwise the cs231n lines
 * {@code (Iteration i / T) loss: x, images/s, ETA} every {@code printEvery} iterations. Both
 * print {@code (Epoch e / E) train acc: a; val_acc: v} at every accuracy check, at the end of
 * an epoch followed by the epoch's own {@code images/s this epoch}. The Solver adds
 * one when it is verbose; other lines (the update-ratio monitor's) go through {@link #line}
 * so that they appear above the bar.
 */
public final class ProgressLogger implements TrainingListener {
    private final PrintStream out;
    private final boolean bar;
    private final int printEvery;
    private long lastDraw;
    private int drawnWidth;
    /** This epoch's training: steps, the time its first step started, the time its last ended. */
    private int epochSteps;
    private long epochStart = -1, lastStepEnd;

    /**
     * @param out        where to print
     * @param bar        a bar redrawn in place (true) or plain lines (false)
     * @param printEvery plain lines every this many iterations, &gt;= 1
     */
    public ProgressLogger(PrintStream out, boolean bar, int printEvery) {
        if (out == null) throw new IllegalArgumentException("output stream is null");
        if (printEvery < 1) throw new IllegalArgumentException("printEvery must be >= 1, got " + printEvery);
        this.out = out;
        this.bar = bar;
        this.printEvery = printEvery;
    }

    /**
     * Whether a bar suits {@code out}: {@code forced} when not null, otherwise true only for
     * System.out attached to a terminal.
     */
    public static boolean barSuits(PrintStream out, Boolean forced) {
        if (forced != null) return forced;
        if (out != System.out) return false;
        Console c = System.console();
        return c != null && c.isTerminal();
    }

    @Override
    public void onTrainStart(Solver solver) {
        epochSteps = 0;
        epochStart = System.nanoTime();
    }

    @Override
    public void afterStep(Solver solver, Progress p) {
        lastStepEnd = System.nanoTime();
        if (epochStart < 0) epochStart = lastStepEnd;
        epochSteps++;
        int t = p.iteration() - 1, total = p.numIterations();
        if (!bar) {
            if (t % printEvery == 0) {
                out.printf(Locale.ROOT, "(Iteration %d / %d) loss: %f, %.1f images/s, ETA %s%n", t + 1, total, p.loss(),
                        p.imagesPerSecond(), time(p.etaSeconds()));
            }
            return;
        }
        int perEpoch = solver.iterationsPerEpoch();
        long now = System.nanoTime();
        int inEpoch = t % perEpoch + 1;
        if (now - lastDraw < 100_000_000L && inEpoch != perEpoch && t != total - 1) return;
        lastDraw = now;
        int width = 30, filled = (int) ((long) width * inEpoch / perEpoch);
        draw(String.format(Locale.ROOT, "Epoch %d/%d [%s%s] %d/%d loss %.4f | %.0f img/s | ETA %s",
                Math.min(p.epoch() + 1, p.numEpochs()), p.numEpochs(), "=".repeat(filled), " ".repeat(width - filled), inEpoch,
                perEpoch, p.loss(), p.imagesPerSecond(), time(p.etaSeconds())));
    }

    @Override
    public void onCheck(Solver solver, Check c) {
        String s = String.format(Locale.ROOT, "(Epoch %d / %d) train acc: %f; val_acc: %f", c.epoch(), c.numEpochs(), c.trainAcc(),
                c.valAcc());
        boolean epochEnd = c.iteration() % solver.iterationsPerEpoch() == 0;
        if (epochEnd) {
            // the epoch's own training throughput (steps only, not the checks): a slowdown within
            // a run shows here, where the cumulative figure of the iteration lines hides it
            long nanos = lastStepEnd - epochStart;
            if (epochSteps > 0 && nanos > 0) {
                s += String.format(Locale.ROOT, "; %.1f images/s this epoch",
                        (double) epochSteps * solver.batchSize() / (nanos / 1e9));
            }
        }
        line(s);
        if (epochEnd) {
            epochSteps = 0;
            epochStart = System.nanoTime();
        }
    }

    @Override
    public void onTrainEnd(Solver solver) {
        if (bar && drawnWidth > 0) out.println();
        drawnWidth = 0;
        out.flush();
    }

    /** Prints a whole line (above the bar, which the next iteration redraws). */
    public void line(String s) {
        if (bar && drawnWidth > 0) {
            out.print("\r" + " ".repeat(drawnWidth) + "\r");
            drawnWidth = 0;
            lastDraw = 0;
        }
        out.println(s);
    }

    private void draw(String s) {
        int pad = Math.max(0, drawnWidth - s.length());
        out.print("\r" + s + " ".repeat(pad));
        out.flush();
        drawnWidth = s.length();
    }

    /** Seconds as h:mm:ss ("?" when unknown). */
    static String time(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
