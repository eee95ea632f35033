package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

    /** The Solver's lr decay multiplied the rate once per epoch: the schedule gives the same bits. */
    @Test
    void exponentialIsTheBitsOfMultiplyingOncePerEpoch() {
        for (double gamma : new double[] {0.9, 0.95, 0.7, 1.3}) {
            for (double initial : new double[] {1e-3, 1.6e-3, 0.1}) {
                LrSchedule s = LrSchedule.exponential(gamma);
                double lr = initial;
                for (int e = 0; e < 40; e++) {
                    assertEquals(Double.doubleToRawLongBits(lr), Double.doubleToRawLongBits(s.rate(initial, e, 40)),
                            "gamma " + gamma + " epoch " + e);
                    lr *= gamma;
                }
            }
        }
        assertSame(LrSchedule.constant(), LrSchedule.exponential(1.0));
    }

    @Test
    void stepDecaysEveryKEpochs() {
        LrSchedule s = LrSchedule.step(3, 0.5);
        double[] expected = {0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2};
        for (int e = 0; e < expected.length; e++) assertEquals(expected[e], s.rate(0.8, e, 10), 0, "epoch " + e);
        assertEquals("step(every=3, gamma=0.5)", s.describe());
    }

    @Test
    void cosineGoesFromInitialToMin() {
        LrSchedule s = LrSchedule.cosine(1e-4);
        assertEquals(0.1, s.rate(0.1, 0, 10), 1e-15);
        assertEquals((0.1 + 1e-4) / 2, s.rate(0.1, 5, 10), 1e-15);
        assertEquals(1e-4, s.rate(0.1, 10, 10), 1e-15);
        assertEquals(1e-4, s.rate(0.1, 12, 10), 1e-15, "epochs beyond the run stay at the minimum");
        for (int e = 1; e <= 10; e++) assertTrue(s.rate(0.1, e, 10) < s.rate(0.1, e - 1, 10));
        assertTrue(LrSchedule.cosine(0).rate(0.1, 10, 10) > 0, "an optimizer needs a rate > 0");
    }

    @Test
    void warmupCosineRisesLinearlyThenAnneals() {
        LrSchedule s = LrSchedule.warmupCosine(2, 0.01);
        assertTrue(s.perIteration());
        // 10 epochs of 5 steps: warm-up over steps 0..9, then cosine over the 40 steps 10..49
        assertEquals(0.1, s.rateAt(1.0, 0, 5, 10), 1e-12);
        assertEquals(0.5, s.rateAt(1.0, 4, 5, 10), 1e-12);
        assertEquals(1.0, s.rateAt(1.0, 9, 5, 10), 1e-12);
        assertEquals(1.0, s.rateAt(1.0, 10, 5, 10), 1e-12);
        assertEquals(0.01 + 0.99 * (1 + Math.cos(Math.PI * 20 / 40.0)) / 2, s.rateAt(1.0, 30, 5, 10), 1e-12);
        assertEquals(0.01 + 0.99 * (1 + Math.cos(Math.PI * 39 / 40.0)) / 2, s.rateAt(1.0, 49, 5, 10), 1e-12);
        // no warm-up: plain cosine per step
        assertEquals(1.0, LrSchedule.warmupCosine(0, 0).rateAt(1.0, 0, 5, 10), 1e-12);
        assertTrue(LrSchedule.warmupCosine(0, 0).rateAt(1.0, 49, 5, 10) > 0);
        // per epoch: one step per epoch
        assertEquals(s.rateAt(0.3, 3, 1, 10), s.rate(0.3, 3, 10));
    }

    @Test
    void oneCycleMatchesPyTorchOneCycleLR() {
        LrSchedule s = LrSchedule.oneCycle(0.25, 10, 100);
        assertTrue(s.perIteration());
        // 4 epochs of 10 steps: up over steps 0..9 (pct 0.25 * 40 - 1 = 9), down over 9..39
        double max = 2.0, start = 0.2, end = 0.002;
        assertEquals(start, s.rateAt(max, 0, 10, 4), 1e-12);
        assertEquals(start + (max - start) * (1 - Math.cos(Math.PI * 3 / 9.0)) / 2, s.rateAt(max, 3, 10, 4), 1e-12);
        assertEquals(max, s.rateAt(max, 9, 10, 4), 1e-12);
        assertEquals(end + (max - end) * (1 + Math.cos(Math.PI * 15 / 30.0)) / 2, s.rateAt(max, 24, 10, 4), 1e-12);
        assertEquals(end, s.rateAt(max, 39, 10, 4), 1e-12);
        for (int t = 0; t < 40; t++) assertTrue(s.rateAt(max, t, 10, 4) > 0);
        assertEquals(LrSchedule.oneCycle(0.3, 25, 1e4), LrSchedule.oneCycle());
    }

    @Test
    void perEpochSchedulesGiveTheEpochRateAtEveryStep() {
        LrSchedule s = LrSchedule.exponential(0.5);
        assertFalse(s.perIteration());
        assertEquals(0.25, s.rateAt(1.0, 27, 10, 5), 1e-15);
    }

    @Test
    void constantKeepsTheRate() {
        assertEquals(0.01, LrSchedule.constant().rate(0.01, 17, 20));
        assertEquals("constant", LrSchedule.constant().describe());
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.oneCycle(0, 25, 1e4));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.oneCycle(0.3, 0.5, 1e4));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.oneCycle(0.3, 25, Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.oneCycle().rateAt(1, -1, 10, 4));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1, 0).rateAt(1, 0, 0, 4));
        msg(() -> LrSchedule.exponential(0), "gamma");
        msg(() -> LrSchedule.exponential(Double.NaN), "gamma");
        msg(() -> LrSchedule.step(0, 0.5), "every must be >= 1");
        msg(() -> LrSchedule.cosine(-1), "minRate");
        msg(() -> LrSchedule.constant().rate(0, 0, 1), "initial learning rate");
        msg(() -> LrSchedule.exponential(0.9).rate(0.1, -1, 1), "epoch must be >= 0");
        msg(() -> LrSchedule.cosine(0).rate(0.1, 0, 0), "numEpochs");
    }

    static void msg(Runnable r, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(part), e.getMessage() + " lacks " + part);
    }
}
