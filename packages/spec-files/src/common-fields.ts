import { z } from 'zod';

/** A run's name becomes part of job ids and Redis keys, so it keeps to letters, digits, `-` and `_`. */
export const slugSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'use letters, digits, "-" and "_", starting with a letter or digit');

/** The shape of an AWS region's name (eu-west-1, us-gov-west-1): every input naming a region is checked against it. */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** An AWS region as a spec file names it. */
export const regionSchema = z.string().regex(REGION_NAME, 'a region looks like eu-west-1');
