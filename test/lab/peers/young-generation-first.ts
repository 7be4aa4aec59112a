// Imported first by a lab peer that stands for the service: V8's young generation kept at its first
// size before anything else loads, as firmware/main.ts does for `postern run` (issue 23), so a
// bench's memory per SA is the service's.
import { keepYoungGenerationSmall } from '../../../firmware/cli/young-generation.ts';

keepYoungGenerationSmall();
